import Foundation
import TestSupport
import Training
import XCTest

/// Sizes that cannot fit in memory are a config error before anything is allocated (issue 11).
final class MemoryBudgetTests: XCTestCase {
    func plan(_ text: String) throws -> SweepPlan {
        try Sweep.plan(json: JSON.parse(Data(text.utf8)), defaultName: "t", outputDirectory: "/tmp/x")
    }

    func testAbsurdHiddenSizeIsAConfigErrorNamingTheKeys() throws {
        // 784 x 10^7 encoder weights alone are 31 GB; with gradients and Adam's moments, 125 GB.
        XCTAssertThrowsError(try plan(#"{"model": {"encoder_hidden": [10000000]}}"#)) { error in
            guard case let ConfigError.tooLargeForMemory(keys, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(keys.first, "model.encoder_hidden")
            let text = "\(error)"
            XCTAssertTrue(text.contains("'model.encoder_hidden'") && text.contains("physical memory") && text.contains("GB"), text)
        }
        // A sweep is checked run by run before any run starts: one bad cell stops it.
        XCTAssertThrowsError(try plan(#"{"model": {"decoder_hidden": [[256], [10000000]]}}"#)) { error in
            XCTAssertTrue("\(error)".contains("model.decoder_hidden"), "\(error)")
        }
        // Batch x samples: the activations, naming the batch size and the sample count.
        XCTAssertThrowsError(try plan(#"{"estimator": {"name": "rloo", "samples": 1000000}, "training": {"batch_size": 1000}}"#)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'training.batch_size'") && text.contains("'estimator.samples'"), text)
            XCTAssertTrue(text.contains("activations of a training step"), text)
        }
    }

    func testTrainerChecksBeforeLoadingDataOrBuildingTheModel() throws {
        var config = RunConfig()
        config.model.encoderHidden = [10_000_000]
        config.data.directory = "/nonexistent/data"  // loading would fail with a data error instead
        XCTAssertThrowsError(try Trainer(config: config, directory: temporaryDirectory())) { error in
            guard case ConfigError.tooLargeForMemory = error else { return XCTFail("\(error)") }
        }
    }

    func testOrdinaryConfigsFitAndTheEstimateAddsUp() throws {
        // The default 4x24 MLP: ~1.3M parameters, a few tens of MB in all.
        let estimate = MemoryEstimate(config: RunConfig())
        let encoder: Double = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 96 + 96
        let decoder: Double = 96 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784
        let parameters = encoder + decoder
        XCTAssertEqual(estimate.parts[0].bytes, parameters * 4 * 4)
        XCTAssertLessThan(estimate.totalBytes, 500e6)
        XCTAssertNoThrow(try estimate.check(physical: 1e9))
        XCTAssertThrowsError(try estimate.check(physical: 1e6))
        XCTAssertNoThrow(try Sweep.plan(configPath: TestPaths.path("configs/reinmax_table.json")))
        XCTAssertNotNil(MemoryEstimate.physicalMemory())
    }
}
