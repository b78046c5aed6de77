// The estimator registry: one literal table, keyed by the name used in configs.
import Autodiff
import VAE

/// What the registry knows about an estimator before building one.
public protocol EstimatorDescriptor {
    /// Config name, kebab-case (`reinmax-cv`).
    static var name: String { get }
    /// One line for `vae-train --list-estimators` and the README.
    static var summary: String { get }
    /// Every option key the estimator reads (besides `name`); anything else in the config is an error.
    static var optionKeys: [String] { get }
    static var families: Set<LatentFamily> { get }
    static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S>
}

public enum EstimatorRegistry {
    /// All estimators, in the order they are listed to users.
    public static let all: [any EstimatorDescriptor.Type] = [
        StraightThroughDescriptor.self,
        GumbelSoftmaxDescriptor.self,
        STGumbelSoftmaxDescriptor.self,
        GumbelRaoDescriptor.self,
        GappedStraightThroughDescriptor.self,
        ReinMaxDescriptor.self,
        ReinMaxRaoDescriptor.self,
        ReinMaxCVDescriptor.self,
        ReinMaxRKDescriptor.self,
        REINFORCEDescriptor.self,
        NVILDescriptor.self,
        RLOODescriptor.self,
        VIMCODescriptor.self,
        MuPropDescriptor.self,
        REBARDescriptor.self,
        RELAXDescriptor.self,
        ARMDescriptor.self,
        DisARMDescriptor.self,
    ]

    public static var names: [String] { all.map { $0.name } }

    public static func descriptor(named name: String) throws -> any EstimatorDescriptor.Type {
        guard let found = all.first(where: { $0.name == name }) else {
            throw EstimatorError.unknownEstimator(name, known: names)
        }
        return found
    }

    /// Each option of `descriptor` with its default and rule, in `optionKeys` order, as its `make`
    /// reads them: recorded while building one with default options (no estimator behaviour changes).
    public static func optionSpecs(of descriptor: any EstimatorDescriptor.Type) -> [OptionSpec] {
        let recorder = OptionSpecRecorder()
        OptionSpecRecorder.$current.withValue(recorder) {
            _ = try? descriptor.make(EstimatorOptions(estimator: descriptor.name), scalar: Float.self)
        }
        return recorder.specs.sorted {
            (descriptor.optionKeys.firstIndex(of: $0.key) ?? .max) < (descriptor.optionKeys.firstIndex(of: $1.key) ?? .max)
        }
    }

    /// Estimators whose `temperature` option may follow a schedule (`schedule.temperature`): those that
    /// take one and do not learn it (REBAR and RELAX tune theirs as a parameter).
    public static let temperatureScheduleEstimators: [String] = all.filter { descriptor in
        guard descriptor.optionKeys.contains("temperature"),
              let made = try? descriptor.make(EstimatorOptions(estimator: descriptor.name), scalar: Float.self) else { return false }
        return made.parameters.isEmpty
    }.map { $0.name }

    /// Options the trainer fills in from the model's sizes (a config need not give them).
    public static let modelSizedOptions: Set<String> = ["input_size", "code_width"]

    /// Builds an estimator from config options, rejecting unknown option keys and unsupported families.
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, family: LatentFamily? = nil,
                                             scalar: S.Type = S.self) throws -> any GradientEstimator<S> {
        let descriptor = try descriptor(named: options.estimator)
        for key in options.values.keys.sorted() where !descriptor.optionKeys.contains(key) {
            throw EstimatorError.unknownOption(estimator: descriptor.name, key: key, allowed: descriptor.optionKeys)
        }
        if let family, !descriptor.families.contains(family) {
            throw EstimatorError.unsupportedFamily(estimator: descriptor.name, family: family)
        }
        return try descriptor.make(options, scalar: S.self)
    }
}
