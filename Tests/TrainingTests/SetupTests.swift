import Foundation
import TestSupport
import Training
import VAE
import XCTest

/// The set-up commands: `make data` (scripts/fetch_data.sh) and `make run` (configs/quickstart.json).
final class SetupTests: XCTestCase {
    /// Runs a copy of scripts/fetch_data.sh in a scratch "checkout", so data/ of the real one is untouched.
    func fetch(_ arguments: [String], in scratch: String) throws -> (status: Int32, output: String) {
        let scripts = scratch + "/scripts"
        try FileManager.default.createDirectory(atPath: scripts, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: scripts + "/fetch_data.sh") {
            try FileManager.default.copyItem(atPath: TestPaths.path("scripts/fetch_data.sh"), toPath: scripts + "/fetch_data.sh")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["MNIST_SRC"] = nil
        environment["BINARIZED_MNIST_SRC"] = nil
        let (status, out) = try runProcess("/bin/bash", [scripts + "/fetch_data.sh"] + arguments, environment: environment)
        return (status, out)
    }

    /// A local copy of the full data set to fetch from (the shared copy next to the checkout, or
    /// $DISCRETEGRAD_DATA); the test is skipped where there is none.
    func localSource(_ kind: DatasetKind) throws -> String {
        var candidates = [TestPaths.path("../shared/data/\(kind.rawValue)"), TestPaths.path("data/\(kind.rawValue)")]
        if let env = ProcessInfo.processInfo.environment[DatasetLoader.environmentVariable] { candidates.insert(env + "/\(kind.rawValue)", at: 0) }
        guard let found = DatasetLoader.locate(kind, searchPaths: candidates) else {
            throw XCTSkip("no local copy of \(kind.rawValue) to fetch from")
        }
        return found
    }

    /// `make data` run again: every file is there and verified, nothing to do, exit 0 (it exited 1
    /// because the EXIT trap's empty `.part` loop returned 1).
    func testFetchingAgainSucceeds() throws {
        for kind in [DatasetKind.mnist, .binarizedMNIST] {
            let source = try localSource(kind)
            let scratch = temporaryDirectory()
            let first = try fetch([kind.rawValue, source], in: scratch)
            XCTAssertEqual(first.status, 0, first.output)
            let again = try fetch([kind.rawValue, source], in: scratch)
            XCTAssertEqual(again.status, 0, again.output)
            XCTAssertTrue(again.output.contains("nothing to do"), again.output)
            // Without a source too: the files in place are verified, no download is attempted.
            let bare = try fetch([kind.rawValue], in: scratch)
            XCTAssertEqual(bare.status, 0, bare.output)
        }
    }

    /// A source without the files fails with exit 1, says what it tried, and leaves no partial file.
    func testFetchingFromAnEmptySourceFailsClearly() throws {
        let scratch = temporaryDirectory()
        let empty = scratch + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let result = try fetch(["mnist", empty], in: scratch)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("could neither find nor download mnist") && result.output.contains(empty), result.output)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: scratch + "/data/mnist")) ?? []
        XCTAssertEqual(left, [], "no file, partial or not: \(left)")
        XCTAssertEqual(try fetch(["fashion"], in: scratch).status, 2, "unknown kind: usage")
    }

    /// `make data-fashion-mnist`: copied from a local source (Debian's dataset-fashion-mnist package, whose
    /// recompressed .gz files verify by their content's SHA-256) and verified again on a re-run; a file with the
    /// right name but wrong content is refused and nothing is left behind.
    func testFashionMNISTIsFetchedVerified() throws {
        let scratch = temporaryDirectory()
        let fake = scratch + "/fake"
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            FileManager.default.createFile(atPath: fake + "/" + name, contents: Data("not fashion-mnist".utf8))
        }
        let refused = try fetch(["fashion_mnist", fake], in: scratch)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("checksum mismatch") && refused.output.contains("FASHION_MNIST_SRC"), refused.output)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/data/fashion_mnist")) ?? [], [])

        let debian = "/usr/share/datasets/fashion-mnist"
        let source = FileManager.default.fileExists(atPath: debian) ? debian : try localSource(.fashionMNIST)
        let first = try fetch(["fashion_mnist", source], in: scratch)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertNotNil(DatasetLoader.locate(.fashionMNIST, searchPaths: [scratch + "/data/fashion_mnist"]))
        let again = try fetch(["fashion_mnist"], in: scratch)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("nothing to do"), again.output)
    }

    /// `make run` trains configs/quickstart.json; its output must be a folder git ignores.
    func testQuickstartWritesWhereGitIgnores() throws {
        let plan = try Sweep.plan(configPath: TestPaths.path("configs/quickstart.json"))
        let top = try XCTUnwrap(plan.directory.split(separator: "/").first.map(String.init))
        XCTAssertEqual(top, "runs")
        let ignore = try String(contentsOfFile: TestPaths.path(".gitignore"), encoding: .utf8)
        let lines = ignore.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains("/\(top)/") || lines.contains("\(top)/"), ".gitignore must ignore \(top)/")
        let makefile = try String(contentsOfFile: TestPaths.path("Makefile"), encoding: .utf8)
        XCTAssertTrue(makefile.contains("CONFIG     ?= configs/quickstart.json"), "make run trains quickstart")
    }
}
