import Estimators
import Foundation
import TestSupport
import Training
import XCTest

/// Conditional overrides: settings that differ per cell of a sweep, in one config (issue 11).
final class SweepOverrideTests: XCTestCase {
    func plan(_ text: String, overrides: [String] = []) throws -> SweepPlan {
        try Sweep.plan(json: JSON.parse(Data(text.utf8)), overrides: overrides, defaultName: "t", outputDirectory: "/tmp/x")
    }

    func assertPlanError(_ text: String, overrides: [String] = [], contains fragments: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try plan(text, overrides: overrides), file: file, line: line) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    static let grid = #"""
        "latent": {"shape": ["8x4", "4x24"]},
        "estimator": {"name": ["st", "reinmax"]},
        "training": {"learning_rate": 0.001, "optimizer": "adam"}
    """#

    func testOverridesApplyInOrderToTheMatchingCellsAndListShowsThem() throws {
        let p = try plan(#"""
        {\#(Self.grid),
         "overrides": [
            {"when": {"estimator.name": "reinmax"}, "set": {"training.optimizer": "radam", "estimator.temperature": 1.3}},
            {"when": {"estimator.name": "reinmax", "latent.shape": "4x24"}, "set": {"training.learning_rate": 0.0005, "estimator.temperature": 1.5}},
            {"when": {"latent.shape": ["8x4"]}, "set": {"training": {"batch_size": 50}}}
         ]}
        """#)
        XCTAssertEqual(p.runs.count, 4)
        func run(_ estimator: String, _ shape: String) throws -> PlannedRun {
            try XCTUnwrap(p.runs.first { $0.config.estimator.estimator == estimator && $0.config.latent.spec.description == shape },
                          "\(estimator) \(shape)")
        }
        let st8 = try run("st", "8x4"), st24 = try run("st", "4x24")
        let rm8 = try run("reinmax", "8x4"), rm24 = try run("reinmax", "4x24")
        XCTAssertEqual(st24.config.training.learningRate, 0.001)
        XCTAssertEqual(st24.config.training.optimizer, .adam)
        XCTAssertEqual(st24.config.training.batchSize, 100)
        XCTAssertTrue(st24.overrides.isEmpty)
        XCTAssertEqual(st8.config.training.batchSize, 50)
        XCTAssertEqual(rm8.config.training.optimizer, .radam)
        XCTAssertEqual(rm8.config.estimator.values["temperature"], .number(1.3))
        XCTAssertEqual(rm8.config.training.learningRate, 0.001)
        XCTAssertEqual(rm8.config.training.batchSize, 50)
        // The later override refines the earlier one.
        XCTAssertEqual(rm24.config.estimator.values["temperature"], .number(1.5))
        XCTAssertEqual(rm24.config.training.learningRate, 0.0005)
        XCTAssertEqual(rm24.config.training.optimizer, .radam)
        // The run's config.json holds what it got, and --list shows each run's resolved overrides.
        XCTAssertEqual(rm24.json.value(at: "training.learning_rate"), .number(0.0005))
        // In the order first set (keys of one `set` object in key order: a JSON object has no order).
        XCTAssertEqual(rm24.overrides.map(\.path), ["estimator.temperature", "training.optimizer", "training.learning_rate"])
        let listing = rm24.listing(in: p)
        XCTAssertEqual(listing, #"estimator-reinmax_shape-4x24  estimator.name="reinmax" latent.shape="4x24"  "#
                       + #"overrides: estimator.temperature=1.5 training.optimizer="radam" training.learning_rate=0.0005"#)
        XCTAssertFalse(st24.listing(in: p).contains("overrides"), st24.listing(in: p))
        // The folder names come from the swept values only.
        XCTAssertEqual(rm24.id, "estimator-reinmax_shape-4x24")
    }

    func testAWhenThatMatchesNoRunIsAnErrorNamingIt() {
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "gs"}, "set": {"estimator.temperature": 1}}]}"#,
                        contains: ["overrides[0].when", "\"estimator.name\": \"gs\"", "matches no run", "\"reinmax\", \"st\""])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"training.seed": 2}},"#
                        + #" {"when": {"estimator.name": "st", "latent.shape": "64x8"}, "set": {"training.seed": 3}}]}"#,
                        contains: ["overrides[1].when", "64x8"])
    }

    func testEveryOverrideKeyIsValidatedBeforeAnythingRuns() {
        // An unknown key, a bad value, an option the matched estimator does not take.
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"training.lerning_rate": 1}}]}"#,
                        contains: ["training.lerning_rate"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"training.learning_rate": -1}}]}"#,
                        contains: ["training.learning_rate", "> 0"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "reinmax"}, "set": {"estimator.temperature": 0.5}}]}"#,
                        contains: ["temperature"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"estimator.samples": 4}}]}"#,
                        contains: ["samples"])
        // Structure: unknown keys, empty lists, lists in set, a section that does not exist.
        assertPlanError(#"{\#(Self.grid), "overrides": []}"#, contains: ["overrides", "[]"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "then": {}}]}"#,
                        contains: ["overrides[0].then", "set, when"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": []}, "set": {"training.seed": 2}}]}"#,
                        contains: ["overrides[0].when.estimator.name"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"training.seed": [1, 2]}}]}"#,
                        contains: ["overrides[0].set.training.seed", "sweep axis"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "st"}, "set": {"trainin.seed": 2}}]}"#,
                        contains: ["overrides[0].set.trainin.seed"])
        assertPlanError(#"{\#(Self.grid), "overrides": [{"set": {"training.seed": 2}}]}"#, contains: ["overrides[0].when"])
    }

    func testSetOnTheCommandLineWinsAndNarrowingTheSweepIsNotAnError() throws {
        let text = #"{\#(Self.grid), "overrides": [{"when": {"estimator.name": "reinmax"}, "set": {"training.epochs": 7, "estimator.temperature": 1.5}}]}"#
        let p = try plan(text, overrides: ["training.epochs=2"])
        XCTAssertTrue(p.runs.allSatisfy { $0.config.training.epochs == 2 })
        XCTAssertTrue(p.notes.contains { $0.contains("overrides[0].set.training.epochs") }, "\(p.notes)")
        let rm = try XCTUnwrap(p.runs.first { $0.config.estimator.estimator == "reinmax" })
        XCTAssertEqual(rm.config.estimator.values["temperature"], .number(1.5))
        // --set estimator.name=st leaves the reinmax override idle instead of failing.
        let narrowed = try plan(text, overrides: ["estimator.name=st"])
        XCTAssertEqual(narrowed.runs.count, 2)
        XCTAssertTrue(narrowed.runs.allSatisfy { $0.overrides.isEmpty })
    }

    // MARK: - configs/reinmax_table.json against the 54 per-cell files

    /// The one-file ReinMax table expands to exactly the runs of configs/reinmax_table/<estimator>_<shape>.json,
    /// with the same resolved settings (everything but the name, which names the folder).
    func testReinMaxTableOneFileEqualsThePerCellFiles() throws {
        let one = try Sweep.plan(configPath: TestPaths.path("configs/reinmax_table.json"))
        let folder = TestPaths.path("configs/reinmax_table")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files.count, 54)

        func key(_ run: PlannedRun) -> String {
            let alpha = run.config.estimator.values["alpha"].map { "\($0)" } ?? "-"
            return "\(run.config.estimator.estimator) \(run.config.latent.spec.description) alpha=\(alpha) seed=\(run.config.training.seed)"
        }
        func withoutName(_ json: JSON) -> JSON {
            guard case var .object(object) = json else { return json }
            object["name"] = nil
            return .object(object)
        }
        var expected: [String: PlannedRun] = [:]
        for file in files {
            let cell = try Sweep.plan(configPath: (folder as NSString).appendingPathComponent(file))
            let stem = (file as NSString).deletingPathExtension
            for run in cell.runs {
                XCTAssertEqual("\(run.config.estimator.estimator)_\(run.config.latent.spec.description)", stem)
                XCTAssertNil(expected.updateValue(run, forKey: key(run)), "\(key(run)) twice")
            }
        }
        XCTAssertEqual(expected.count, 54 * 10 + 6 * 10, "540 cells x seeds, plus reinmax-rk's second alpha")
        var got: [String: PlannedRun] = [:]
        for run in one.runs { XCTAssertNil(got.updateValue(run, forKey: key(run)), "\(key(run)) twice in the one-file table") }
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (k, want) in expected {
            guard let run = got[k] else { continue }
            let (a, b) = (run.config, want.config)
            XCTAssertEqual(a.training.learningRate, b.training.learningRate, k)
            XCTAssertEqual(a.training.optimizer, b.training.optimizer, k)
            XCTAssertEqual(a.training.epochs, b.training.epochs, k)
            XCTAssertEqual(a.training.seed, b.training.seed, k)
            XCTAssertEqual(a.training.batchSize, b.training.batchSize, k)
            XCTAssertEqual(a.latent.spec, b.latent.spec, k)
            XCTAssertEqual(a.estimator, b.estimator, k)
            XCTAssertEqual(withoutName(run.json), withoutName(want.json), k)
        }
    }
}
