import Estimators
import Foundation
import TestSupport
import Training
import VAE
import XCTest

/// An estimator option applies only to the estimators that take it (issue 11).
final class SweepOptionTests: XCTestCase {
    func plan(_ text: String, overrides: [String] = [], out: String = "/tmp/x") throws -> SweepPlan {
        try Sweep.plan(json: JSON.parse(Data(text.utf8)), overrides: overrides, defaultName: "t", outputDirectory: out)
    }

    func assertPlanError(_ text: String, overrides: [String] = [], contains fragments: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try plan(text, overrides: overrides), file: file, line: line) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testSweptOptionIsDroppedForEstimatorsThatDoNotTakeItAndIdenticalRunsMerge() throws {
        let p = try plan(#"{"estimator": {"name": ["st", "reinforce"], "temperature": [1, 1.5]}, "training": {"seed": [1, 2]}}"#)
        // st: 2 temperatures x 2 seeds; reinforce: the temperature axis does not apply, so 2 seeds.
        XCTAssertEqual(p.runs.count, 6)
        XCTAssertEqual(p.runs.map(\.index), Array(0..<6), "indices stay contiguous for --run-index")
        let reinforce = p.runs.filter { $0.config.estimator.estimator == "reinforce" }
        XCTAssertEqual(reinforce.map(\.config.training.seed), [1, 2])
        for run in reinforce {
            XCTAssertNil(run.config.estimator.values["temperature"])
            XCTAssertNil(run.json.value(at: "estimator.temperature"), "config.json shows what the run got")
            XCTAssertFalse(run.assignments.contains { $0.path == "estimator.temperature" })
            XCTAssertFalse(run.id.contains("temperature"), run.id)
            XCTAssertFalse(run.listing(in: p).contains("temperature"), run.listing(in: p))
        }
        XCTAssertEqual(reinforce.map(\.id), ["estimator-reinforce_seed-1", "estimator-reinforce_seed-2"])
        let st = p.runs.filter { $0.config.estimator.estimator == "st" }
        XCTAssertEqual(st.map { $0.config.estimator.values["temperature"] }, [.number(1), .number(1), .number(1.5), .number(1.5)])
        XCTAssertTrue(p.notes.contains { $0.contains("estimator.temperature") && $0.contains("reinforce") }, "\(p.notes)")
        XCTAssertTrue(p.notes.contains { $0.contains("merged") && $0.contains("8 -> 6") }, "\(p.notes)")
        XCTAssertEqual(Set(p.runs.map(\.id)).count, 6)
    }

    func testFixedOptionsGoToTheEstimatorsThatTakeThemAndListShowsThem() throws {
        let p = try plan(#"{"estimator": {"name": ["st", "rloo"], "temperature": 1.5, "samples": 4}}"#)
        XCTAssertEqual(p.runs.count, 2)
        XCTAssertEqual(p.runs[0].config.estimator.values, ["temperature": .number(1.5)])
        XCTAssertEqual(p.runs[1].config.estimator.values, ["samples": .number(4)])
        XCTAssertEqual(p.runs[0].listing(in: p), #"estimator-st  estimator.name="st" estimator.temperature=1.5"#)
        XCTAssertEqual(p.runs[1].listing(in: p), #"estimator-rloo  estimator.name="rloo" estimator.samples=4"#)
    }

    func testAnOptionNoEstimatorOfTheSweepTakesIsAnError() {
        assertPlanError(#"{"estimator": {"name": ["st", "reinforce"], "eta": 1}}"#,
                        contains: ["estimator.eta", "reinforce, st", "reinmax-cv"])
        assertPlanError(#"{"estimator": {"name": "reinforce", "temperature": 1}}"#, contains: ["estimator.temperature", "reinforce"])
        assertPlanError(#"{"estimator": {"name": "st", "bogus": 1}}"#, contains: ["estimator.bogus", "no estimator has it"])
        // Given on the command line for an estimator that does not take it: an error, not a silent drop.
        assertPlanError(#"{"estimator": {"name": "st"}}"#, overrides: ["estimator.name=reinforce", "estimator.temperature=2"],
                        contains: ["estimator.temperature"])
    }

    /// The README's `--set estimator.name=reinforce` on quickstart (which sets st's temperature).
    func testSettingAnotherEstimatorDropsTheConfigsOptionsWithANote() throws {
        let quickstart = TestPaths.path("configs/quickstart.json")
        let p = try Sweep.plan(configPath: quickstart, overrides: ["estimator.name=reinforce", "training.epochs=1"])
        XCTAssertEqual(p.runs.count, 1)
        XCTAssertEqual(p.runs[0].config.estimator.estimator, "reinforce")
        XCTAssertNil(p.runs[0].config.estimator.values["temperature"])
        XCTAssertEqual(p.notes.count, 1, "one line: \(p.notes)")
        XCTAssertTrue(p.notes[0].contains("estimator.temperature") && p.notes[0].contains("reinforce") && !p.notes[0].contains("\n"))
        // An option the new estimator takes as well stays.
        let q = try plan(#"{"estimator": {"name": "st", "temperature": 1.5}}"#, overrides: ["estimator.name=gs"])
        XCTAssertEqual(q.runs[0].config.estimator.values["temperature"], .number(1.5))
        XCTAssertTrue(q.notes.isEmpty)
    }

    func testSetLatentShapeOverVariablesAndClassesLaterSourceWins() throws {
        let p = try plan(#"{"latent": {"family": "categorical", "variables": 24, "classes": 4}}"#, overrides: ["latent.shape=8x4"])
        XCTAssertEqual(p.runs[0].config.latent.spec, .categorical(4, 8))
        XCTAssertTrue(p.notes.contains { $0.contains("latent.shape") && $0.contains("latent.variables") }, "\(p.notes)")
        // The reverse: a --set variables over a config's shape keeps the shape's classes.
        let q = try plan(#"{"latent": {"shape": "8x4"}}"#, overrides: ["latent.variables=16"])
        XCTAssertEqual(q.runs[0].config.latent.spec, .categorical(16, 8))
        XCTAssertEqual(q.notes.count, 1)
        // A sweep over shapes can be replaced, not partly overridden.
        assertPlanError(#"{"latent": {"shape": ["8x4", "4x24"]}}"#, overrides: ["latent.variables=16"], contains: ["latent.variables", "latent.shape"])
        // One source giving both is still ambiguous.
        assertPlanError(#"{"latent": {"shape": "8x4", "variables": 3}}"#, contains: ["latent.shape", "not both"])
        // A Bernoulli shape sets the family.
        XCTAssertEqual(try plan(#"{"latent": {"shape": "200"}}"#).runs[0].config.latent.spec, .bernoulli(200))
        assertPlanError(#"{"latent": {"family": "bernoulli", "shape": "4x24"}}"#, contains: ["latent.shape", "bernoulli"])
    }

    /// The run's own config.json, written by the trainer, holds only the options the run got.
    func testRunConfigJSONHoldsOnlyTheOptionsTheRunGot() throws {
        let out = temporaryDirectory()
        let text = TestRuns.tinyConfigText(estimator: #"{"name": ["st", "reinforce"], "temperature": 1.5}"#)
        let p = try plan(text, out: out)
        try SweepRunner.runSequentially(p, resume: false, log: { _ in })
        let st = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: out + "/estimator-st/config.json")))
        let reinforce = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: out + "/estimator-reinforce/config.json")))
        XCTAssertEqual(st.value(at: "estimator.temperature"), .number(1.5))
        XCTAssertEqual(reinforce.value(at: "estimator.name"), .string("reinforce"))
        XCTAssertNil(reinforce.value(at: "estimator.temperature"))
    }
}
