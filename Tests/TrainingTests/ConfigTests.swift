import Estimators
import Foundation
import TestSupport
import Training
import XCTest

final class ConfigTests: XCTestCase {
    func decode(_ text: String) throws -> RunConfig {
        try RunConfig(json: JSON.parse(Data(text.utf8)))
    }

    func assertConfigError(_ text: String, contains fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(text), file: file, line: line) { error in
            let message = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testDefaultsFollowTheReinMaxProtocol() throws {
        let config = try decode("{}")
        XCTAssertEqual(config.model.encoderHidden, [512, 256])
        XCTAssertEqual(config.model.decoderHidden, [256, 512])
        XCTAssertEqual(config.training.batchSize, 100)
        XCTAssertEqual(config.training.learningRate, 1e-3)
        XCTAssertEqual(config.data.binarization, .none)
        XCTAssertEqual(config.latent.spec, .categorical(24, 4), "4x24 in the paper's classes x variables naming")
        XCTAssertEqual(config.estimator.estimator, "st")
    }

    func testUnknownKeyNamesThePathAndTheAllowedKeys() {
        assertConfigError(#"{"training": {"epoch": 3}}"#, contains: ["training.epoch", "epochs", "learning_rate"])
        assertConfigError(#"{"trainin": {}}"#, contains: ["'trainin'", "training"])
    }

    func testWrongTypesAndRanges() {
        assertConfigError(#"{"training": {"epochs": "ten"}}"#, contains: ["training.epochs", "a number", "a string"])
        assertConfigError(#"{"training": {"epochs": 0}}"#, contains: ["training.epochs", ">= 1"])
        assertConfigError(#"{"training": {"learning_rate": -1}}"#, contains: ["training.learning_rate", "> 0"])
        assertConfigError(#"{"training": {"optimizer": "adamw"}}"#, contains: ["training.optimizer", "adam, radam, sgd"])
        assertConfigError(#"{"data": {"binarization": "otsu"}}"#, contains: ["data.binarization", "none, dynamic, threshold"])
        assertConfigError(#"{"model": {"encoder_hidden": []}}"#, contains: ["model.encoder_hidden", "linear"])
        assertConfigError(#"{"latent": {"family": "bernoulli", "classes": 3}}"#, contains: ["latent.classes", "bernoulli"])
        assertConfigError(#"{"data": {"dataset": "mnist", "evaluation_split": "valid"}}"#, contains: ["evaluation_split", "train, test"])
    }

    func testEstimatorValidation() {
        assertConfigError(#"{"estimator": {"name": "magic"}}"#, contains: ["unknown estimator 'magic'", "st", "reinforce"])
        assertConfigError(#"{"estimator": {"name": "st", "temperature": 0}}"#, contains: ["temperature", "> 0"])
        assertConfigError(#"{"estimator": {"name": "st", "eta": 1}}"#, contains: ["no option 'eta'", "temperature"])
        assertConfigError(#"{"estimator": {"temperature": 1}}"#, contains: ["estimator.name"])
    }

    func testLinearModelIsExpressible() throws {
        let config = try decode(#"{"model": {"type": "linear"}, "latent": {"family": "bernoulli", "variables": 200}}"#)
        XCTAssertEqual(config.modelShape.encoderHidden, [])
        XCTAssertEqual(config.modelShape.latent, .bernoulli(200))
    }

    func testResolvedConfigRoundTrips() throws {
        let config = try decode(#"{"name": "x", "estimator": {"name": "st", "temperature": 1.5}, "training": {"gradient_clip": 5}}"#)
        let again = try RunConfig(json: config.json)
        XCTAssertEqual(config, again)
    }
}

final class SweepTests: XCTestCase {
    func plan(_ text: String, overrides: [String] = []) throws -> SweepPlan {
        try Sweep.plan(json: JSON.parse(Data(text.utf8)), overrides: overrides, defaultName: "t", outputDirectory: "/tmp/x")
    }

    func testListValuedKeysExpandToACartesianProduct() throws {
        let p = try plan(#"{"estimator": {"name": ["st", "reinforce"]}, "training": {"seed": [1, 2, 3]}}"#)
        XCTAssertEqual(p.runs.count, 6)
        XCTAssertEqual(p.axes.map(\.path), ["estimator.name", "training.seed"])
        XCTAssertEqual(p.runs.map(\.config.training.seed), [1, 2, 3, 1, 2, 3])
        XCTAssertEqual(p.runs.map(\.config.estimator.estimator), ["st", "st", "st", "reinforce", "reinforce", "reinforce"])
        XCTAssertEqual(p.runs[4].id, "estimator-reinforce_seed-2")
        XCTAssertEqual(Set(p.runs.map(\.id)).count, 6, "run folders must be unique")
    }

    func testSingleRunHasNoAxes() throws {
        let p = try plan("{}")
        XCTAssertEqual(p.runs.count, 1)
        XCTAssertEqual(p.runs[0].id, "run")
    }

    func testLatentShapeAxisAndHiddenListOfLists() throws {
        let p = try plan(#"{"latent": {"shape": ["8x4", "4x24"]}, "model": {"encoder_hidden": [[64], [32, 16]]}}"#)
        XCTAssertEqual(p.runs.count, 4)
        // Axes in key order, the last varying fastest.
        XCTAssertEqual(p.runs.map(\.config.latent.spec.description), ["8x4", "8x4", "4x24", "4x24"])
        XCTAssertEqual(p.runs[0].config.latent.spec, .categorical(4, 8), "8x4 is 4 variables with 8 classes (the paper's C x L)")
        XCTAssertEqual(p.runs.map(\.config.model.encoderHidden), [[64], [32, 16], [64], [32, 16]])
        // A plain hidden list is a value, not an axis.
        XCTAssertEqual(try plan(#"{"model": {"encoder_hidden": [64, 32]}}"#).runs.count, 1)
    }

    func testOverridesReplaceAxesAndCanCreateThem() throws {
        let base = #"{"estimator": {"name": ["st", "reinforce"]}}"#
        XCTAssertEqual(try plan(base, overrides: ["estimator.name=st"]).runs.count, 1)
        let p = try plan(base, overrides: ["training.seed=[4,5]", "estimator.temperature=1.3", "estimator.name=st"])
        XCTAssertEqual(p.runs.map(\.config.training.seed), [4, 5])
        XCTAssertEqual(p.runs[0].config.estimator.values["temperature"], .number(1.3))
    }

    func testBadOverridesAreRejected() {
        XCTAssertThrowsError(try plan("{}", overrides: ["training.epochs"])) { XCTAssertTrue("\($0)".contains("key.path=value")) }
        XCTAssertThrowsError(try plan("{}", overrides: ["trainng.epochs=2"])) { XCTAssertTrue("\($0)".contains("trainng.epochs")) }
        XCTAssertThrowsError(try plan(#"{"latent": {"shape": "4by24"}}"#)) { XCTAssertTrue("\($0)".contains("latent.shape")) }
    }

    /// An empty list is an axis with no values: it used to make a sweep of no runs that exited 0 with
    /// the keys under it never checked. It is an error naming the key, wherever it is.
    func testEmptyListIsAnErrorNamingTheKey() throws {
        func assertEmptyListError(_ text: String, overrides: [String] = [], key: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try plan(text, overrides: overrides), file: file, line: line) { error in
                XCTAssertTrue("\(error)".contains("'\(key)'") && "\(error)".contains("empty list"), "\(error)", file: file, line: line)
            }
        }
        assertEmptyListError(#"{"estimator": {"name": []}}"#, key: "estimator.name")
        assertEmptyListError(#"{"estimator": {"name": [], "tempreature": 1}}"#, key: "estimator.name")
        assertEmptyListError(#"{"training": {"seed": []}, "estimator": {"name": ["st", "reinforce"]}}"#, key: "training.seed")
        assertEmptyListError(#"{"estimator": []}"#, key: "estimator")
        assertEmptyListError(#"{"estimator": [{"name": "st", "temperature": []}]}"#, key: "estimator[0].temperature")
        assertEmptyListError("{}", overrides: ["training.seed=[]"], key: "training.seed")
        // An empty hidden-size list in an axis is a value, which an mlp rejects by name.
        XCTAssertThrowsError(try plan(#"{"model": {"encoder_hidden": [[64], []]}}"#)) {
            XCTAssertTrue("\($0)".contains("model.encoder_hidden"), "\($0)")
        }
        // An empty hidden-size list is a value (no hidden layers), valid for a linear model.
        let linear = try plan(#"{"model": {"type": "linear", "encoder_hidden": [], "decoder_hidden": []}, "latent": {"shape": "20"}}"#)
        XCTAssertEqual(linear.runs.count, 1)
    }

    /// Every run's keys are validated when the sweep is planned, before any run starts.
    func testEveryRunIsValidatedBeforeAnythingRuns() {
        XCTAssertThrowsError(try plan(#"{"estimator": [{"name": "st"}, {"name": "st", "tempreature": 1}]}"#)) {
            XCTAssertTrue("\($0)".contains("tempreature"), "\($0)")
        }
        XCTAssertThrowsError(try plan(#"{"training": {"seed": [1, 2, -3]}}"#)) {
            XCTAssertTrue("\($0)".contains("training.seed"), "\($0)")
        }
    }

    func testMissingAndMalformedConfigFiles() throws {
        XCTAssertThrowsError(try Sweep.plan(configPath: "/nonexistent/x.json")) { XCTAssertTrue("\($0)".contains("no such file")) }
        let path = try makeTemporaryDirectory() + "/bad.json"
        FileManager.default.createFile(atPath: path, contents: Data("{\"training\": ".utf8))
        XCTAssertThrowsError(try Sweep.plan(configPath: path)) { XCTAssertTrue("\($0)".contains("not valid JSON")) }
    }

    func testCommittedConfigsAreValid() throws {
        let configs = TestPaths.root.appendingPathComponent("configs")
        // poly.json and toy.json configure the `poly` and `toy` toy problems, not VAE training runs;
        // their own commands validate them.
        let toys: Set<String> = ["poly.json", "toy.json"]
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".json") && !toys.contains($0) }
        XCTAssertTrue(files.contains("quickstart.json"))
        for file in files {
            do {
                _ = try Sweep.plan(configPath: configs.appendingPathComponent(file).path)
            } catch {
                // A config may name an estimator that has not landed yet; that must be the clear registry error.
                XCTAssertTrue("\(error)".contains("unknown estimator"), "\(file): \(error)")
            }
        }
    }
}

final class EstimatorSizingTests: XCTestCase {
    /// Estimators with their own networks get the model's sizes from the run (no crash on a mismatch), and
    /// the resolved config records them (a run's config.json lists them, so `--resume` compares equal).
    func testNetworkSizesComeFromTheModel() throws {
        let relax = try RunConfig(json: JSON.parse(Data(#"{"latent": {"shape": "8x4"}, "estimator": {"name": "relax"}}"#.utf8)))
        XCTAssertEqual(relax.modelSizes.codeWidth, 32)
        XCTAssertEqual(relax.json.value(at: "estimator.code_width"), .number(32))
        let built = try EstimatorRegistry.make(relax.estimator, sizes: relax.modelSizes, scalar: Float.self)
        XCTAssertEqual((built as? RELAX<Float>)?.codeWidth, 32)
        let nvil = try RunConfig(json: JSON.parse(Data(#"{"estimator": {"name": "nvil"}}"#.utf8)))
        XCTAssertEqual(nvil.json.value(at: "estimator.input_size"), .number(784))
        XCTAssertNil(nvil.json.value(at: "estimator.code_width"))
        // A restated size that agrees is accepted, and the config round-trips through its own JSON.
        let restated = try RunConfig(json: JSON.parse(Data(#"{"latent": {"shape": "8x4"}, "estimator": {"name": "relax", "code_width": 32}}"#.utf8)))
        XCTAssertEqual(restated, relax)
        XCTAssertEqual(try RunConfig(json: relax.json), relax)
        XCTAssertThrowsError(try RunConfig(json: JSON.parse(Data(#"{"latent": {"shape": "8x4"}, "estimator": {"name": "relax", "code_width": 200}}"#.utf8)))) {
            XCTAssertTrue("\($0)".contains("estimator.code_width") && "\($0)".contains("32"), "\($0)")
        }
    }
}
