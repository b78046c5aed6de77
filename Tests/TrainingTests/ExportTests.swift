import Foundation
import TestSupport
import Training
import XCTest

/// `vae-train export`: a run's parameters as an .npz, read back by numpy (python3-numpy) and by the
/// binary itself.
final class ExportTests: XCTestCase {
    /// A one-epoch run of the small test model.
    func trainedRun() throws -> (directory: String, trainer: Trainer) {
        let dir = temporaryDirectory()
        var config = try ProgressTests.smallConfig()
        config.training.epochs = 1
        let trainer = try Trainer(config: config, directory: dir, log: { _ in })
        try trainer.run()
        return (dir, trainer)
    }

    func python(_ script: String) throws -> (status: Int32, out: String) {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no /usr/bin/python3") }
        return try runProcess(python, ["-c", script])
    }

    func testNumpyReadsTheNamedArraysWithTheTrainedValues() throws {
        let (dir, trainer) = try trainedRun()
        let out = dir + "/model.npz"
        let result = try RunExport.exportParameters(run: dir, to: out)
        XCTAssertEqual(result.arrays.map(\.0), ["encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
                                                "decoder.0.weight", "decoder.0.bias", "decoder.1.weight", "decoder.1.bias"])
        XCTAssertEqual(result.arrays[0].1, [784, 64])
        // Sums in float64 and a few exact values, computed here and by numpy.
        let parameters = trainer.model.parameters.map { $0.value.withUnsafeBufferPointer { Array($0) } }
        let expected = parameters.map { p in String(format: "%.6f", p.reduce(0.0) { $0 + Double($1) }) }
        let first = parameters.map { String(format: "%.9g", $0[0]) }
        let script = """
        import numpy as np
        z = np.load('\(out)')
        names = ['encoder.0.weight', 'encoder.0.bias', 'encoder.1.weight', 'encoder.1.bias', 'decoder.0.weight', 'decoder.0.bias', 'decoder.1.weight', 'decoder.1.bias']
        assert sorted(z.files) == sorted(names), z.files
        for n in names:
            a = z[n]
            assert a.dtype == np.float32
            print(n, 'x'.join(map(str, a.shape)), '%.6f' % a.astype(np.float64).sum(), '%.9g' % a.ravel()[0])
        """
        let (status, text) = try python(script)
        guard status == 0 else {
            if text.contains("No module named 'numpy'") { throw XCTSkip("python3-numpy is not installed") }
            return XCTFail(text)
        }
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 8, text)
        for (i, line) in lines.enumerated() {
            let fields = line.split(separator: " ").map(String.init)
            XCTAssertEqual(fields[0], result.arrays[i].0)
            XCTAssertEqual(fields[1], result.arrays[i].1.map(String.init).joined(separator: "x"))
            XCTAssertEqual(fields[2], expected[i], line)
            XCTAssertEqual(fields[3], first[i], line)
        }
    }

    func testNpyHeaderIsAlignedAndTheZipIsReadable() throws {
        let npy = NPZ.npy(shape: [3], values: [1, 2, 3])
        XCTAssertEqual(Array(npy[0..<6]), [0x93] + Array("NUMPY".utf8))
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(npy.count, 10 + headerLength + 12)
        XCTAssertTrue(String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self).contains("'shape': (3,)"))
    }

    func testTheCommandWritesNextToTheRunByDefault() throws {
        let (dir, _) = try trainedRun()
        let result = try VAETrainBinary.run(["export", "--run", dir], in: NSTemporaryDirectory())
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("encoder.0.weight  784x64"), result.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/parameters.npz"))
        let missing = try VAETrainBinary.run(["export", "--run", dir + "/nothing"], in: NSTemporaryDirectory())
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("checkpoint"), missing.err)
    }
}
