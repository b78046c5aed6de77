import Autodiff
import VAE

/// The estimator registry: one literal list of estimator types, keyed by the name used in configs.
///
/// Each estimator states its registry facts once, as static members of its own class (`name`, `summary`,
/// `families`, `make`), and each option once, where `make` reads it. Swift cannot name a generic class
/// without its scalar (`StraightThrough` alone is not a type) and gives generic classes no static stored
/// properties, so the list is a generic function of the scalar, `types(for:)`: one line per estimator,
/// the scalar filled in by whoever builds one. What does not depend on the scalar is collected from that
/// list once, into `all`: a `RegisteredEstimator` per type (its facts, and its options recorded while
/// building one with default options), the non-generic handle that the config, the listing and the
/// sweeps use. Adding an estimator is one file and one line in `types(for:)`.
public enum EstimatorRegistry {
    /// Every estimator type at scalar `S`, in the order users see them.
    public static func types<S: TensorScalar>(for scalar: S.Type) -> [any GradientEstimator<S>.Type] {
        [
            StraightThrough<S>.self,
            GumbelSoftmax<S>.self,
            STGumbelSoftmax<S>.self,
            GumbelRao<S>.self,
            GappedStraightThrough<S>.self,
            ReinMax<S>.self,
            ReinMaxRao<S>.self,
            ReinMaxCV<S>.self,
            ReinMaxRK<S>.self,
            REINFORCE<S>.self,
            NVIL<S>.self,
            RLOO<S>.self,
            VIMCO<S>.self,
            MuProp<S>.self,
            REBAR<S>.self,
            RELAX<S>.self,
            ARM<S>.self,
            DisARM<S>.self,
        ]
    }

    /// All estimators, in the order users see them, with their facts and options.
    public static let all: [RegisteredEstimator] = types(for: Float.self).map { RegisteredEstimator($0) }

    public static var names: [String] { all.map(\.name) }

    public static func entry(named name: String) throws -> RegisteredEstimator {
        guard let found = all.first(where: { $0.name == name }) else {
            throw EstimatorError.unknownEstimator(name, known: names)
        }
        return found
    }

    /// Estimators whose `temperature` option may follow a schedule (`schedule.temperature`): those that
    /// take one and do not learn it (REBAR and RELAX tune theirs as a parameter).
    public static let temperatureScheduleEstimators: [String] = all.filter { entry in
        entry.optionKeys.contains("temperature") && !entry.learnsParameters
    }.map(\.name)

    /// Builds an estimator from config options and the model's sizes, rejecting unknown option keys, a
    /// restated model size that disagrees with `sizes`, and unsupported families.
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, sizes: ModelSizes = .default,
                                             family: LatentFamily? = nil, scalar: S.Type = S.self) throws -> any GradientEstimator<S> {
        let entry = try entry(named: options.estimator)
        for key in options.values.keys.sorted() where !entry.optionKeys.contains(key) {
            throw EstimatorError.unknownOption(estimator: entry.name, key: key, allowed: entry.optionKeys)
        }
        // A config may restate a size the model determines (a run's config.json records them); it must agree.
        for size in entry.modelSizes {
            if let given = options.values[size.rawValue], given != .number(Double(sizes[size])) {
                throw EstimatorError.invalidOption(estimator: entry.name, key: size.rawValue, value: given.description,
                    requirement: "must equal the model's \(size.meaning) \(sizes[size]); it is filled in automatically")
            }
        }
        if let family, !entry.families.contains(family) {
            throw EstimatorError.unsupportedFamily(estimator: entry.name, family: family)
        }
        let type = types(for: S.self).first { $0.name == entry.name }!
        return try type.make(options, sizes: sizes)
    }

    /// The options with the model sizes the estimator reads, as a resolved config records them (a run's
    /// config.json lists RELAX's `code_width`, so a resumed run's config compares equal).
    public static func resolvedValues(_ options: EstimatorOptions, sizes: ModelSizes) -> [String: OptionValue] {
        var values = options.values
        for size in (try? entry(named: options.estimator))?.modelSizes ?? [] {
            values[size.rawValue] = .number(Double(sizes[size]))
        }
        return values
    }
}

/// One estimator as the registry lists it: its type's static facts, and every option its `make` reads
/// with the default and rule stated there, recorded once while building one with default options (at
/// Float; none of it depends on the scalar).
public struct RegisteredEstimator: Sendable {
    public let name: String
    public let summary: String
    public let families: Set<LatentFamily>
    /// The options in the order `make` reads them (the order `vae-train estimators` lists them), the model
    /// sizes it reads among them (`modelSize` set).
    public let optionSpecs: [OptionSpec]
    /// Whether it has parameters of its own (NVIL, REBAR, RELAX): a temperature among them is learned.
    let learnsParameters: Bool

    init<E: GradientEstimator>(_ type: E.Type) {
        let recorder = OptionSpecRecorder()
        let made = OptionSpecRecorder.$current.withValue(recorder) {
            try? type.make(EstimatorOptions(estimator: type.name), sizes: .default)
        }
        name = type.name
        summary = type.summary
        families = type.families
        optionSpecs = recorder.specs
        learnsParameters = !(made?.parameters.isEmpty ?? true)
    }

    /// Every key a config may give for this estimator: its options and the model sizes it reads.
    public var optionKeys: [String] { optionSpecs.map(\.key) }
    /// The model sizes `make` reads.
    public var modelSizes: [ModelSize] { optionSpecs.compactMap(\.modelSize) }
}
