import Estimators
import Foundation
import TestSupport
import Training
import XCTest

/// `vae-train estimators` shows each option's default and rule, read from the estimators' own `make`.
final class EstimatorListingTests: XCTestCase {
    func specs(_ name: String) throws -> [String: OptionSpec] {
        Dictionary(uniqueKeysWithValues: try EstimatorRegistry.entry(named: name).optionSpecs.map { ($0.key, $0) })
    }

    /// Every option key has one spec with a rule, and each stated default is accepted by `make` (a model
    /// size's default is `ModelSizes.default`'s, the sizes `make` uses when none are given).
    func testEveryOptionHasADefaultThatMakeAccepts() throws {
        for entry in EstimatorRegistry.all {
            let specs = entry.optionSpecs
            XCTAssertEqual(Set(specs.map(\.key)).count, specs.count, "\(entry.name): a key recorded twice")
            for spec in specs {
                XCTAssertFalse(spec.requirement.isEmpty, "\(entry.name).\(spec.key)")
                let options = EstimatorOptions(estimator: entry.name, values: [spec.key: spec.defaultValue])
                XCTAssertNoThrow(try EstimatorRegistry.make(options, scalar: Float.self), "\(entry.name).\(spec.key)")
                if let size = spec.modelSize {
                    XCTAssertEqual(spec.key, size.rawValue)
                    XCTAssertEqual(spec.defaultValue, .number(Double(ModelSizes.default[size])), "\(entry.name).\(spec.key)")
                    XCTAssertEqual(spec.requirement, ModelSize.requirement)
                }
            }
        }
    }

    /// The defaults are what `make` builds: an estimator made with every default stated explicitly equals
    /// the one made from empty options (checked on the estimators' public hyperparameters).
    func testStatedDefaultsAreWhatMakeBuilds() throws {
        func make(_ name: String, explicit: Bool) throws -> any GradientEstimator<Float> {
            let values = explicit ? try specs(name).mapValues(\.defaultValue) : [:]
            return try EstimatorRegistry.make(EstimatorOptions(estimator: name, values: values), scalar: Float.self)
        }
        for name in ["reinmax", "st", "gs", "st-gs"] {
            let a = try make(name, explicit: false), b = try make(name, explicit: true)
            XCTAssertEqual(Mirror(reflecting: a).children.map { "\($0.value)" }, Mirror(reflecting: b).children.map { "\($0.value)" }, name)
        }
        let gst = try XCTUnwrap(try make("gst", explicit: true) as? GappedStraightThrough<Float>)
        XCTAssertEqual(gst.gap, try XCTUnwrap(try make("gst", explicit: false) as? GappedStraightThrough<Float>).gap)
        let reinmax = try XCTUnwrap(try make("reinmax", explicit: false) as? ReinMax<Float>)
        guard case let .number(stated)? = try specs("reinmax")["temperature"]?.defaultValue else { return XCTFail() }
        XCTAssertEqual(Float(stated), reinmax.temperature)
    }

    func testKnownDefaultsAndRules() throws {
        XCTAssertEqual(try specs("reinmax")["temperature"]?.defaultValue, .number(1.3))
        XCTAssertTrue(try XCTUnwrap(specs("reinmax")["temperature"]).requirement.contains(">= 1"))
        let cv = try specs("reinmax-cv")
        XCTAssertEqual(cv["eta"]?.defaultValue, .number(1.5))
        XCTAssertEqual(cv["temperature2"]?.defaultValue, .number(0.7))
        XCTAssertEqual(cv["samples"]?.defaultValue, .number(32))
        XCTAssertEqual(try specs("gst")["gap"]?.defaultValue, .number(1))
        XCTAssertEqual(try specs("rloo")["samples"]?.requirement, "must be an integer >= 2")
        let reinforce = try specs("reinforce")
        XCTAssertEqual(reinforce["baseline"]?.defaultValue, .string("moving-average"))
        XCTAssertTrue(try XCTUnwrap(reinforce["baseline"]).requirement.contains("optimal-constant"))
        XCTAssertEqual(reinforce["beta"]?.requirement, "must be in [0, 1)")
    }

    func testTheCommandListsDefaultsAndRules() throws {
        let result = try VAETrainBinary.run(["estimators"], in: NSTemporaryDirectory())
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out.trimmingCharacters(in: .newlines), EstimatorListing.text)
        XCTAssertTrue(result.out.contains("estimator.temperature"), result.out)
        XCTAssertTrue(result.out.contains("default 1.3"), result.out)
        XCTAssertTrue(result.out.contains("default \"moving-average\""), result.out)
        XCTAssertTrue(result.out.contains("filled in from the model's sizes"), result.out)
    }

    /// `vae-train estimators --json`: the registry, in order, with the same defaults and rules as the text.
    func testTheJSONListingMatchesTheRegistry() throws {
        let result = try VAETrainBinary.run(["estimators", "--json"], in: NSTemporaryDirectory())
        XCTAssertEqual(result.status, 0, result.err)
        guard case let .array(entries) = try JSON.parse(Data(result.out.utf8)) else { return XCTFail(result.out) }
        XCTAssertEqual(entries.compactMap { if case let .string(name)? = $0["name"] { name } else { nil } }, EstimatorRegistry.names)
        let cv = try XCTUnwrap(entries.first { $0["name"] == .string("reinmax-cv") })
        XCTAssertEqual(cv["families"], .array([.string("categorical")]))
        guard case let .array(options)? = cv["options"] else { return XCTFail() }
        XCTAssertEqual(options.compactMap { if case let .string(key)? = $0["key"] { key } else { nil } }, ["eta", "temperature", "temperature2", "samples", "gs_noise"])
        XCTAssertEqual(options.first { $0["key"] == .string("eta") }?["default"], .number(1.5))
        let reinforce = try XCTUnwrap(entries.first { $0["name"] == .string("reinforce") })
        guard case let .array(reinforceOptions)? = reinforce["options"] else { return XCTFail() }
        XCTAssertEqual(reinforceOptions.first { $0["key"] == .string("baseline") }?["default"], .string("moving-average"))
        XCTAssertTrue(result.out.contains("filled in from the model's sizes"), result.out)
    }
}
