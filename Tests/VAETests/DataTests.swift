import Foundation
import TestSupport
import VAE
import XCTest

/// Tests of the data layer: gzip, IDX, amat, binarization, dataset helpers and lookup.
///
/// Fixtures are written at run time into a fresh temporary directory, so every corrupt case is
/// built from a known-good file by one precise change. The embedded-subset test reads the real
/// committed files in data/embedded.
final class DataTests: XCTestCase {
    private var tmp: String = ""

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory()  // removed by a teardown block when the test ends
    }

    private static let packageRoot = TestPaths.root.path

    // MARK: - Fixture helpers

    private func write(_ bytes: [UInt8], _ name: String, in dir: String? = nil) throws -> String {
        let d = dir ?? tmp
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let path = (d as NSString).appendingPathComponent(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func pixels(count: Int, rows: Int = 28, cols: Int = 28) -> [UInt8] {
        (0 ..< count * rows * cols).map { UInt8(($0 * 7 + ($0 / (rows * cols)) * 13) % 256) }
    }

    /// Writes a tiny MNIST directory: `n` train and `m` test records, train raw, test gzipped.
    private func writeMNIST(dir: String, n: Int = 3, m: Int = 2) throws {
        try _ = write(IDX.encodeImages(count: n, rows: 28, cols: 28, pixels: pixels(count: n)), "train-images-idx3-ubyte", in: dir)
        try _ = write(IDX.encodeLabels((0 ..< n).map { UInt8($0 % 10) }), "train-labels-idx1-ubyte", in: dir)
        try _ = write(Gzip.compress(IDX.encodeImages(count: m, rows: 28, cols: 28, pixels: pixels(count: m))), "t10k-images-idx3-ubyte.gz", in: dir)
        try _ = write(Gzip.compress(IDX.encodeLabels((0 ..< m).map { UInt8(9 - $0) })), "t10k-labels-idx1-ubyte.gz", in: dir)
    }

    private func amatRow(_ values: [Int]) -> String {
        values.map(String.init).joined(separator: " ")
    }

    private func amatRows(_ n: Int, columns: Int = 784) -> [[Int]] {
        (0 ..< n).map { r in (0 ..< columns).map { ($0 * 3 + r) % 5 == 0 ? 1 : 0 } }
    }

    /// Asserts that `body` throws a `DataError` whose description contains every string in `parts`.
    private func assertDataError<T>(_ body: @autoclosure () throws -> T, contains parts: [String],
                                    file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected a DataError containing \(parts)", file: file, line: line)
        } catch let error as DataError {
            let text = error.description
            for part in parts {
                XCTAssertTrue(text.contains(part), "\"\(text)\" does not contain \"\(part)\"", file: file, line: line)
            }
        } catch {
            XCTFail("expected a DataError, got \(error)", file: file, line: line)
        }
    }

    // MARK: - Gzip

    func testGzipRoundTripAndRawPassthrough() throws {
        let payload: [UInt8] = (0 ..< 100_000).map { UInt8(($0 * 31) & 0xff) }
        let gz = Gzip.compress(payload)
        XCTAssertTrue(Gzip.hasMagic(gz))
        XCTAssertEqual(Gzip.compress(payload), gz, "compression must be deterministic")
        XCTAssertEqual(try Gzip.readFile(atPath: write(gz, "a.gz")), payload)
        XCTAssertEqual(try Gzip.readFile(atPath: write(payload, "a.raw")), payload)
        // Decided by magic, not by suffix.
        XCTAssertEqual(try Gzip.readFile(atPath: write(gz, "misnamed.bin")), payload)
        XCTAssertEqual(try Gzip.readFile(atPath: write([], "empty")), [])
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([]), path: "x"), [])
    }

    func testGzipMultiMember() throws {
        let a: [UInt8] = Array("hello ".utf8), b: [UInt8] = Array("world".utf8)
        let path = try write(Gzip.compress(a) + Gzip.compress(b), "multi.gz")
        XCTAssertEqual(try Gzip.readFile(atPath: path), a + b)
    }

    func testGzipTruncated() throws {
        let gz = Gzip.compress(IDX.encodeLabels((0 ..< 5000).map { UInt8($0 % 10) }))
        let path = try write(Array(gz.prefix(gz.count / 2)), "cut.gz")
        assertDataError(try Gzip.readFile(atPath: path), contains: [path, "truncated gzip"])
        // Missing only the 8-byte trailer is still truncated.
        let path2 = try write(Array(gz.dropLast(8)), "cut2.gz")
        assertDataError(try Gzip.readFile(atPath: path2), contains: [path2, "truncated gzip"])
    }

    func testGzipCorruptChecksumAndTrailingGarbage() throws {
        var gz = Gzip.compress(Array(repeating: 7, count: 1000))
        gz[gz.count - 6] ^= 0xff  // inside the CRC-32
        let path = try write(gz, "crc.gz")
        assertDataError(try Gzip.readFile(atPath: path), contains: [path, "corrupt gzip"])
        let path2 = try write(Gzip.compress([1, 2, 3]) + [0xde, 0xad], "tail.gz")
        assertDataError(try Gzip.readFile(atPath: path2), contains: [path2, "2 trailing bytes"])
    }

    func testGzipTooShort() throws {
        let path = try write([0x1f, 0x8b], "two.gz")
        assertDataError(try Gzip.readFile(atPath: path), contains: [path, "truncated gzip"])
        let path2 = try write([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x03, 0], "hdr.gz")
        assertDataError(try Gzip.readFile(atPath: path2), contains: [path2, "truncated gzip"])
    }

    /// Random truncations and byte flips of valid files must give a `DataError` or (for flips
    /// that happen to keep the file valid, e.g. inside pixel data) a result, never a crash.
    func testCorruptionsNeverCrash() throws {
        let idx = IDX.encodeImages(count: 2, rows: 28, cols: 28, pixels: pixels(count: 2))
        let amat = Array((amatRows(2).map(amatRow).joined(separator: "\n") + "\n").utf8)
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for (k, original) in [Gzip.compress(idx), idx, Gzip.compress(amat), amat].enumerated() {
            for trial in 0 ..< 150 {
                var bytes = original
                if trial % 3 == 0 {
                    bytes = Array(bytes.prefix(next(bytes.count)))
                } else {
                    for _ in 0 ..< 1 + next(3) { bytes[next(bytes.count)] ^= UInt8(1 + next(255)) }
                }
                // In memory (same code path as a file, minus the write): 600 files would be slow.
                let path = "fuzz-\(k)-\(trial)"
                do {
                    let content = Gzip.hasMagic(bytes) ? try Gzip.decompress(bytes, path: path) : bytes
                    if k < 2 { _ = try IDX.parseImages(content, path: path) } else { _ = try Amat.parse(content, path: path) }
                } catch let error as DataError {
                    XCTAssertTrue(error.description.contains(path), error.description)
                }
            }
        }
    }

    func testMissingAndUnreadableFile() throws {
        let path = tmp + "/nope.gz"
        assertDataError(try Gzip.readFile(atPath: path), contains: [path, "not found"])
        assertDataError(try Gzip.readFile(atPath: tmp), contains: [tmp, "directory"])
        let empty = tmp + "/emptydir"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertDataError(try DatasetLoader.mnist(directory: empty, split: .train),
                        contains: [empty, "missing file", "train-images-idx3-ubyte.gz"])
    }

    // MARK: - IDX

    func testIDXLoadRawAndGzipped() throws {
        let dir = tmp + "/mnist"
        try writeMNIST(dir: dir, n: 3, m: 2)
        let train = try DatasetLoader.mnist(directory: dir, split: .train)
        XCTAssertEqual(train.count, 3)
        XCTAssertEqual(train.dimension, 784)
        XCTAssertEqual(train.labels, [0, 1, 2])
        let raw = pixels(count: 3)
        XCTAssertEqual(train.pixels.count, raw.count)
        for i in [0, 1, 783, 784, 2000, raw.count - 1] {
            XCTAssertEqual(train.pixels[i], Float(raw[i]) / 255, "pixel \(i)")
        }
        XCTAssertEqual(train.pixels.max(), 1)
        XCTAssertEqual(train.pixels.min(), 0)

        let test = try DatasetLoader.mnist(directory: dir, split: .test)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.labels, [9, 8])
        XCTAssertEqual(test.name, "mnist/test")

        let limited = try DatasetLoader.mnist(directory: dir, split: .train, limit: 2)
        XCTAssertEqual(limited.count, 2)
        XCTAssertEqual(Array(limited.pixels), Array(train.pixels.prefix(2 * 784)))
        XCTAssertEqual(try DatasetLoader.mnist(directory: dir, split: .train, limit: 99).count, 3)

        assertDataError(try DatasetLoader.mnist(directory: dir, split: .valid), contains: ["mnist", "valid"])
        // Fashion-MNIST uses the same names and format.
        XCTAssertEqual(try DatasetLoader.fashionMNIST(directory: dir, split: .train).labels, [0, 1, 2])
    }

    func testIDXParseDirect() throws {
        let bytes = IDX.encodeImages(count: 2, rows: 3, cols: 4, pixels: Array(0 ..< 24))
        let (h, px) = try IDX.parseImages(bytes, path: "p")
        XCTAssertEqual(h, IDXImageHeader(count: 2, rows: 3, cols: 4, dataOffset: 16))
        XCTAssertEqual(px, Array(0 ..< 24))
        XCTAssertEqual(try IDX.parseLabels(IDX.encodeLabels([3, 1, 4]), path: "l"), [3, 1, 4])
    }

    func testIDXWrongMagic() throws {
        let dir = tmp + "/m"
        try writeMNIST(dir: dir)
        // Swap in a label file where the images belong.
        let path = try write(IDX.encodeLabels([1, 2, 3]), "train-images-idx3-ubyte", in: dir)
        assertDataError(try DatasetLoader.mnist(directory: dir, split: .train),
                        contains: [path, "bad magic number 0x00000801", "expected 0x00000803", "label file"])
        var junk = IDX.encodeLabels([1])
        junk[2] = 0x0c
        let lpath = try write(junk, "bad-labels", in: dir)
        assertDataError(try IDX.readLabels(atPath: lpath), contains: [lpath, "bad magic number 0x00000c01"])
    }

    func testIDXHeaderCountLargerThanData() throws {
        var bytes = IDX.encodeImages(count: 3, rows: 28, cols: 28, pixels: pixels(count: 3))
        bytes[7] = 5  // header now claims 5 images
        let path = try write(Gzip.compress(bytes), "short.gz")
        assertDataError(try IDX.readImages(atPath: path),
                        contains: [path, "truncated data", "\(16 + 5 * 784)", "\(16 + 3 * 784)"])
        let lpath = try write(Array(IDX.encodeLabels([1, 2, 3]).dropLast()), "labels-short")
        assertDataError(try IDX.readLabels(atPath: lpath), contains: [lpath, "truncated", "1 missing"])
        let tiny = try write([0, 0, 8], "tiny")
        assertDataError(try IDX.readImages(atPath: tiny), contains: [tiny, "truncated"])
    }

    func testIDXTrailingBytes() throws {
        let bytes = IDX.encodeImages(count: 1, rows: 28, cols: 28, pixels: pixels(count: 1)) + [1, 2, 3]
        let path = try write(bytes, "trailing")
        assertDataError(try IDX.readImages(atPath: path), contains: [path, "3 trailing bytes"])
    }

    func testIDXBadDimensions() throws {
        let zero = try write(IDX.encodeImages(count: 1, rows: 1, cols: 1, pixels: [0]).enumerated().map { $0.offset == 11 ? 0 : $0.element }, "zero")
        assertDataError(try IDX.readImages(atPath: zero), contains: [zero, "wrong dimensions", "dimension 1"])
        let dir = tmp + "/odd"
        try writeMNIST(dir: dir)
        let path = try write(IDX.encodeImages(count: 3, rows: 14, cols: 56, pixels: pixels(count: 3)), "train-images-idx3-ubyte", in: dir)
        assertDataError(try DatasetLoader.mnist(directory: dir, split: .train),
                        contains: [path, "wrong dimensions", "28x28", "14x56"])
    }

    func testIDXCountMismatch() throws {
        let dir = tmp + "/mm"
        try writeMNIST(dir: dir, n: 3)
        let lpath = try write(IDX.encodeLabels([1, 2, 3, 4]), "train-labels-idx1-ubyte", in: dir)
        assertDataError(try DatasetLoader.mnist(directory: dir, split: .train),
                        contains: ["count mismatch", dir + "/train-images-idx3-ubyte", "3 images", lpath, "4 labels"])
    }

    func testIDXBadLabel() throws {
        let dir = tmp + "/bl"
        try writeMNIST(dir: dir, n: 3)
        let lpath = try write(IDX.encodeLabels([1, 12, 3]), "train-labels-idx1-ubyte", in: dir)
        assertDataError(try DatasetLoader.mnist(directory: dir, split: .train), contains: [lpath, "bad label 12", "index 1"])
    }

    func testIDXTruncatedGzipThroughLoader() throws {
        let dir = tmp + "/tg"
        try writeMNIST(dir: dir, m: 4)
        let path = dir + "/t10k-images-idx3-ubyte.gz"
        let gz = try Gzip.readRawFile(atPath: path)
        _ = try write(Array(gz.prefix(gz.count - 20)), "t10k-images-idx3-ubyte.gz", in: dir)
        assertDataError(try DatasetLoader.mnist(directory: dir, split: .test), contains: [path, "truncated gzip"])
    }

    // MARK: - amat

    func testAmatParseRawAndGzipped() throws {
        let dir = tmp + "/bin"
        let rows = amatRows(3)
        let text = rows.map(amatRow).joined(separator: "\n") + "\n"
        _ = try write(Array(text.utf8), "binarized_mnist_train.amat", in: dir)
        _ = try write(Gzip.compress(Array(text.utf8)), "binarized_mnist_valid.amat.gz", in: dir)
        // CRLF line endings, no final newline, then trailing blank lines are all accepted.
        let crlf = rows.prefix(2).map(amatRow).joined(separator: "\r\n") + "\r\n\n  \n"
        _ = try write(Array(crlf.utf8), "binarized_mnist_test.amat", in: dir)

        let train = try DatasetLoader.binarizedMNIST(directory: dir, split: .train)
        XCTAssertEqual(train.count, 3)
        XCTAssertEqual(train.dimension, 784)
        XCTAssertNil(train.labels)
        XCTAssertEqual(train.pixels, rows.flatMap { $0.map(Float.init) })
        XCTAssertEqual(try DatasetLoader.binarizedMNIST(directory: dir, split: .valid).pixels, train.pixels)
        let test = try DatasetLoader.binarizedMNIST(directory: dir, split: .test)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.pixels, Array(train.pixels.prefix(2 * 784)))
        XCTAssertEqual(try DatasetLoader.binarizedMNIST(directory: dir, split: .train, limit: 1).count, 1)

        let noFinalNewline = try Amat.parse(Array("0 1 1\n1 0 0".utf8), path: "x", columns: 3)
        XCTAssertEqual(noFinalNewline.rows, 2)
        XCTAssertEqual(noFinalNewline.values, [0, 1, 1, 1, 0, 0])
        XCTAssertEqual(try Amat.parse(Array("0\t1  1\n".utf8), path: "x", columns: 3).values, [0, 1, 1])
    }

    func testAmatRowWith783Values() throws {
        var rows = amatRows(3).map(amatRow)
        rows[1] = amatRow(Array(amatRows(1)[0].prefix(783)))
        let path = try write(Array((rows.joined(separator: "\n") + "\n").utf8), "short.amat")
        assertDataError(try Amat.read(atPath: path), contains: [path, "line 2", "found 783", "expected 784"])
        rows[1] = amatRow(amatRows(1)[0] + [1])
        let path2 = try write(Gzip.compress(Array((rows.joined(separator: "\n") + "\n").utf8)), "long.amat.gz")
        assertDataError(try Amat.read(atPath: path2), contains: [path2, "line 2", "found 785"])
    }

    func testAmatBadToken() throws {
        var values = amatRows(3)
        values[2][10] = 2
        let path = try write(Array(values.map(amatRow).joined(separator: "\n").utf8), "two.amat")
        assertDataError(try Amat.read(atPath: path), contains: [path, "line 3", "\"2\"", "column 11"])
        let path2 = try write(Array("0 1 0.5\n".utf8), "half.amat")
        assertDataError(try Amat.read(atPath: path2, columns: 3), contains: [path2, "line 1", "\"0.5\"", "column 3"])
        let path3 = try write(Array("0 1 10\n".utf8), "ten.amat")
        assertDataError(try Amat.read(atPath: path3, columns: 3), contains: [path3, "\"10\""])
    }

    func testAmatBlankLineInMiddleAndEmpty() throws {
        let path = try write(Array("0 1\n\n1 0\n".utf8), "gap.amat")
        assertDataError(try Amat.read(atPath: path, columns: 2), contains: [path, "line 2", "found 0"])
        let empty = try write([], "empty.amat")
        assertDataError(try Amat.read(atPath: empty), contains: [empty, "no rows"])
        let blank = try write(Array("\n\n".utf8), "blank.amat")
        assertDataError(try Amat.read(atPath: blank), contains: [blank, "no rows"])
    }

    func testBinarizedMissingSplitFile() throws {
        let dir = tmp + "/b2"
        _ = try write(Array("1\n".utf8), "binarized_mnist_train.amat", in: dir)
        assertDataError(try DatasetLoader.binarizedMNIST(directory: dir, split: .test),
                        contains: [dir, "missing file", "binarized_mnist_test.amat.gz", "binarized_mnist_test.amat"])
    }

    // MARK: - Binarization

    func testBinarization() {
        let x: [Float] = [0, 0.2, 0.5, 0.51, 0.9, 1]
        var none = x
        Binarization.none.apply(to: &none)
        XCTAssertEqual(none, x)

        var thr = x
        Binarization.threshold.apply(to: &thr)
        XCTAssertEqual(thr, [0, 0, 0, 1, 1, 1])

        var dyn = x
        let u: [Float] = [0, 0.1, 0.5, 0.6, 0.89, 0.999]
        // 1 iff u < x: 0<0 no, .1<.2 yes, .5<.5 no, .6<.51 no, .89<.9 yes, .999<1 yes
        Binarization.dynamic.apply(to: &dyn, uniforms: u)
        XCTAssertEqual(dyn, [0, 1, 0, 0, 1, 1])

        var dyn2 = x
        Binarization.dynamic.apply(to: &dyn2) { buf in
            for i in buf.indices { buf[i] = u[i] }
        }
        XCTAssertEqual(dyn2, dyn)

        XCTAssertTrue(Binarization.dynamic.needsUniforms)
        XCTAssertFalse(Binarization.threshold.needsUniforms)
        XCTAssertEqual(Binarization(rawValue: "dynamic"), .dynamic)
        XCTAssertEqual(Binarization.allCases.count, 3)
    }

    func testBinarizationUnsafeBuffers() {
        var x: [Float] = [0.3, 0.7]
        let u: [Float] = [0.2, 0.8]
        x.withUnsafeMutableBufferPointer { xb in
            u.withUnsafeBufferPointer { ub in Binarization.dynamic.apply(xb, uniforms: ub) }
        }
        XCTAssertEqual(x, [1, 0])
    }

    // MARK: - Dataset helpers

    func testDatasetRowsPrefixSlice() {
        let d = Dataset(name: "t", count: 4, dimension: 2, pixels: [0, 1, 2, 3, 4, 5, 6, 7], labels: [9, 8, 7, 6])
        XCTAssertEqual(d.rows([2, 0, 2]), [4, 5, 0, 1, 4, 5])
        XCTAssertEqual(d.rows(1 ..< 3), [2, 3, 4, 5])
        XCTAssertEqual(d.rows([Int]()), [])
        XCTAssertEqual(d.labels([3, 1]), [6, 8])
        var buf = [Float](repeating: -1, count: 4)
        buf.withUnsafeMutableBufferPointer { d.gatherRows([3, 0], into: $0) }
        XCTAssertEqual(buf, [6, 7, 0, 1])

        let p = d.prefix(2)
        XCTAssertEqual(p.count, 2)
        XCTAssertEqual(p.pixels, [0, 1, 2, 3])
        XCTAssertEqual(p.labels, [9, 8])
        XCTAssertEqual(d.prefix(10).count, 4)
        XCTAssertEqual(d.prefix(0).count, 0)
        let s = d.slice(1 ..< 3)
        XCTAssertEqual(s.pixels, [2, 3, 4, 5])
        XCTAssertEqual(s.labels, [8, 7])
        XCTAssertEqual(d.pixelMeans(), [3, 4])
    }

    // MARK: - Locating data

    func testLocateFirstCompleteDirectory() throws {
        let a = tmp + "/a", b = tmp + "/b", c = tmp + "/c"
        try writeMNIST(dir: b)
        try writeMNIST(dir: c)
        // `a` exists but lacks the test labels: it must be skipped.
        try writeMNIST(dir: a)
        try FileManager.default.removeItem(atPath: a + "/t10k-labels-idx1-ubyte.gz")
        XCTAssertEqual(DatasetLoader.locate(.mnist, searchPaths: [tmp + "/none", a, b, c]), b)
        XCTAssertNil(DatasetLoader.locate(.binarizedMNIST, searchPaths: [a, b]))
        let d = try DatasetLoader.load(.mnist, split: .test, searchPaths: [a, c])
        XCTAssertEqual(d.source, c)
        XCTAssertEqual(d.count, 2)
    }

    func testMissingDatasetListsEveryPath() {
        let paths = [tmp + "/x", tmp + "/y", "no-such-relative-dir/binarized_mnist"]
        assertDataError(try DatasetLoader.require(.binarizedMNIST, searchPaths: paths),
                        contains: ["binarized_mnist", "not found", "make data"] + paths)
        assertDataError(try DatasetLoader.load(.binarizedMNIST, split: .train, searchPaths: paths),
                        contains: paths + ["make data"])
    }

    func testDefaultSearchPaths() {
        let env = ["DISCRETEGRAD_DATA": "/srv/data"]
        XCTAssertEqual(DatasetLoader.defaultSearchPaths(for: .mnist, environment: env),
                       ["/srv/data/mnist", "data/mnist", "../shared/data/mnist"],
                       "the embedded subset is used only when a config names it, never as a fallback")
        XCTAssertEqual(DatasetLoader.defaultSearchPaths(for: .binarizedMNIST, environment: [:]),
                       ["data/binarized_mnist", "../shared/data/binarized_mnist"])
        XCTAssertEqual(DatasetLoader.defaultSearchPaths(for: .fashionMNIST, environment: [:]).last,
                       "/usr/share/datasets/fashion-mnist")
    }

    // MARK: - Real data

    /// The committed subset must load through the ordinary reader with the documented contents.
    func testEmbeddedSubset() throws {
        let dir = Self.packageRoot + "/data/embedded"
        XCTAssertEqual(DatasetLoader.locate(.mnist, searchPaths: [dir]), dir)
        let train = try DatasetLoader.mnist(directory: dir, split: .train)
        let test = try DatasetLoader.mnist(directory: dir, split: .test)
        XCTAssertEqual(train.count, 10_000)
        XCTAssertEqual(test.count, 2_000)
        XCTAssertEqual(train.dimension, 784)
        XCTAssertEqual(train.labels?.first, 5)
        XCTAssertEqual(test.labels?.first, 7)
        XCTAssertEqual(Array(train.labels!.prefix(5)), [5, 0, 4, 1, 9])
        for d in [train, test] {
            XCTAssertEqual(d.pixels.count, d.count * 784)
            XCTAssertEqual(d.pixels.min(), 0)
            XCTAssertEqual(d.pixels.max(), 1)
            XCTAssertTrue(d.labels!.allSatisfy { $0 <= 9 })
            let mean = d.pixels.reduce(0, +) / Float(d.pixels.count)
            // A check of scale, not identity (the labels above pin the files): pixels read as 0–255 or
            // inverted (1 − x) would give ~33 or ~0.87. 0.01 allows for the subset's own mean.
            XCTAssertEqual(mean, 0.13, accuracy: 0.01, "MNIST mean intensity is about 0.13")
        }
    }

    /// Full data sets, only if `scripts/fetch_data.sh` has put them in data/ (git-ignored).
    func testFullMNISTIfFetched() throws {
        let dir = Self.packageRoot + "/data/mnist"
        guard DatasetLoader.locate(.mnist, searchPaths: [dir]) != nil else {
            throw XCTSkip("data/mnist not fetched (run make data)")
        }
        let train = try DatasetLoader.mnist(directory: dir, split: .train)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(train.labels?.first, 5)
        let mean = train.pixels.reduce(0, +) / Float(train.pixels.count)
        // 0.1307 is the published training-set mean (torchvision's normalisation constant). 1e-3 (0.8%) leaves
        // room for the rounding of this Float running sum over 47M pixels; a misread file (header offset,
        // 0–255 scale, inversion) is off by far more.
        XCTAssertEqual(mean, 0.1307, accuracy: 0.001)
        let test = try DatasetLoader.mnist(directory: dir, split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(test.labels?.first, 7)
    }

    func testFullBinarizedMNISTIfFetched() throws {
        let dir = Self.packageRoot + "/data/binarized_mnist"
        guard DatasetLoader.locate(.binarizedMNIST, searchPaths: [dir]) != nil else {
            throw XCTSkip("data/binarized_mnist not fetched (run scripts/fetch_data.sh binarized_mnist)")
        }
        let start = Date()
        let train = try DatasetLoader.binarizedMNIST(directory: dir, split: .train)
        let seconds = Date().timeIntervalSince(start)
        print("binarized_mnist train: \(train.count) rows loaded in \(String(format: "%.3f", seconds)) s")
        XCTAssertEqual(train.count, 50_000)
        XCTAssertEqual(train.pixels.count, 50_000 * 784)
        let mean = train.pixels.reduce(0, +) / Float(train.pixels.count)
        // The fraction of ones is 5,118,041 / 39,200,000 = 0.130562 (the pixels are 0 or 1, so the Float
        // sum is exact below 2^24): 5e-4 is slack for a fixed file; a misparsed amat file is off by far more.
        XCTAssertEqual(mean, 0.1306, accuracy: 0.0005)
        XCTAssertEqual(try DatasetLoader.binarizedMNIST(directory: dir, split: .valid).count, 10_000)
        XCTAssertEqual(try DatasetLoader.binarizedMNIST(directory: dir, split: .test).count, 10_000)
    }

    func testFashionMNISTIfInstalled() throws {
        let dir = DatasetLoader.debianFashionMNISTDirectory
        guard DatasetLoader.locate(.fashionMNIST, searchPaths: [dir]) != nil else {
            throw XCTSkip("Debian's dataset-fashion-mnist is not installed")
        }
        let test = try DatasetLoader.fashionMNIST(directory: dir, split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(test.dimension, 784)
        XCTAssertEqual(test.pixels.max(), 1)
    }
}
