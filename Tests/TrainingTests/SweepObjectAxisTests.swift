import Foundation
import TestSupport
import Training
import XCTest

/// A list-of-objects axis (issue 11): readable folder names, one summary.csv column per key, none twice.
final class SweepObjectAxisTests: XCTestCase {
    func testListOfObjectsAxisHasReadableFoldersAndNoDuplicateSummaryColumn() throws {
        let out = temporaryDirectory()
        let text = #"""
        {"estimator": [{"name": "st", "temperature": 1}, {"name": "reinmax", "temperature": 1.3}],
         "training": {"seed": [0, 1]}}
        """#
        let plan = try Sweep.plan(json: JSON.parse(Data(text.utf8)), defaultName: "t", outputDirectory: out)
        XCTAssertEqual(plan.runs.map(\.id), ["estimator-st-temperature-1_seed-0", "estimator-st-temperature-1_seed-1",
                                             "estimator-reinmax-temperature-1.3_seed-0", "estimator-reinmax-temperature-1.3_seed-1"])
        XCTAssertEqual(plan.runs.map(\.config.estimator.estimator), ["st", "st", "reinmax", "reinmax"])
        // No run has trained: every row is `missing`, and the header is what we check.
        let path = try SweepRunner.writeSummary(plan)
        let summary = try readCSV(path)
        XCTAssertEqual(summary.header, SweepRunner.summaryColumns + ["estimator.temperature"])
        XCTAssertEqual(Set(summary.header).count, summary.header.count, "a column twice: \(summary.header)")
        let column = try XCTUnwrap(summary.header.firstIndex(of: "estimator.temperature"))
        let estimator = try XCTUnwrap(summary.header.firstIndex(of: "estimator"))
        XCTAssertEqual(summary.rows.map { $0[estimator] }, ["st", "st", "reinmax", "reinmax"])
        XCTAssertEqual(summary.rows.map { $0[column] }, ["1", "1", "1.3", "1.3"])
    }

    /// Objects with different keys, and an object axis beside a plain axis of one of its keys.
    func testObjectsWithDifferentKeysAndAnOverlappingPlainAxis() throws {
        let out = temporaryDirectory()
        let text = #"""
        {"estimator": [{"name": "reinmax-rk", "alpha": 0.5}, {"name": "rloo", "samples": 4}],
         "latent": [{"shape": "8x4"}, {"shape": "4x24"}],
         "training": {"learning_rate": [0.001, 0.0005]}}
        """#
        let plan = try Sweep.plan(json: JSON.parse(Data(text.utf8)), defaultName: "t", outputDirectory: out)
        XCTAssertEqual(plan.runs.count, 8)
        XCTAssertEqual(plan.runs[0].id, "estimator-reinmax-rk-alpha-0.5_latent-shape-8x4_learning_rate-0.001")
        let header = try readCSV(SweepRunner.writeSummary(plan)).header
        XCTAssertEqual(Array(header.dropFirst(SweepRunner.summaryColumns.count)),
                       ["estimator.alpha", "estimator.samples", "latent.shape", "training.learning_rate"])
        let rows = try readCSV(out + "/summary.csv").rows
        let alpha = header.firstIndex(of: "estimator.alpha")!, samples = header.firstIndex(of: "estimator.samples")!
        XCTAssertEqual(rows[0][alpha], "0.5")
        XCTAssertEqual(rows[0][samples], "")
        XCTAssertEqual(rows.last![samples], "4")
    }
}
