import Foundation

/// Which part of a data set to load.
public enum Split: String, Codable, Sendable, CaseIterable {
    case train
    case valid
    case test
}

/// The data sets the project knows how to find and read.
public enum DatasetKind: String, Codable, Sendable, CaseIterable {
    /// Original MNIST, grey levels; 60,000 train + 10,000 test (IDX).
    case mnist
    /// Larochelle & Murray's statically binarized MNIST; 50,000 / 10,000 / 10,000 (amat), no labels.
    case binarizedMNIST = "binarized_mnist"
    /// Zalando's Fashion-MNIST, same IDX layout as MNIST.
    case fashionMNIST = "fashion_mnist"

    /// Sub-directory name under a data root (`data/<name>`, `$DISCRETEGRAD_DATA/<name>`).
    public var directoryName: String { rawValue }

    /// Splits this data set actually has.
    public var splits: [Split] {
        switch self {
        case .mnist, .fashionMNIST: return [.train, .test]
        case .binarizedMNIST: return [.train, .valid, .test]
        }
    }

    /// For each split, the accepted file names: the IDX images/labels or the amat file.
    /// Each name is accepted raw or with `.gz` (content is sniffed, not the suffix).
    func fileNames(for split: Split) -> [[String]] {
        switch (self, split) {
        case (.mnist, .train), (.fashionMNIST, .train):
            return [withGz(["train-images-idx3-ubyte", "train-images.idx3-ubyte"]),
                    withGz(["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"])]
        case (.mnist, .test), (.fashionMNIST, .test):
            return [withGz(["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"]),
                    withGz(["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"])]
        case (.binarizedMNIST, _):
            return [withGz(["binarized_mnist_\(split.rawValue).amat"])]
        case (_, .valid):
            return []
        }
    }

    var requiredFilesSummary: String {
        // Each list is [name.gz, name, ...]: show the plain name once, with the optional suffix.
        splits.flatMap { fileNames(for: $0).map { $0[1] + "[.gz]" } }.joined(separator: ", ")
    }

    private func withGz(_ names: [String]) -> [String] {
        names.flatMap { [$0 + ".gz", $0] }
    }
}

/// An in-memory image data set: `count` rows of `dimension` floats in [0, 1].
///
/// Stored as one flat row-major `[Float]` so a mini-batch is a contiguous gather with no
/// per-image objects, and so it can be handed to BLAS directly.
public struct Dataset: Sendable {
    /// Human-readable name, e.g. `mnist/train`.
    public let name: String
    public let count: Int
    /// Values per image (784 for 28 x 28).
    public let dimension: Int
    /// `count * dimension` values, row-major, in [0, 1].
    public let pixels: [Float]
    /// Class labels 0...9 where the data set has them (not for binarized MNIST).
    public let labels: [UInt8]?
    /// Where the data came from (directory or file), for logs and result provenance.
    public let source: String

    public init(name: String, count: Int, dimension: Int, pixels: [Float], labels: [UInt8]?, source: String = "") {
        precondition(count >= 0 && dimension > 0, "bad dataset shape")
        precondition(pixels.count == count * dimension, "pixels.count must equal count * dimension")
        precondition(labels == nil || labels!.count == count, "labels.count must equal count")
        self.name = name
        self.count = count
        self.dimension = dimension
        self.pixels = pixels
        self.labels = labels
        self.source = source
    }

    /// Copies the rows at `indices` into one contiguous `[indices.count * dimension]` buffer.
    public func rows(_ indices: some Collection<Int>) -> [Float] {
        var out = [Float](repeating: 0, count: indices.count * dimension)
        out.withUnsafeMutableBufferPointer { gatherRows(indices, into: $0) }
        return out
    }

    /// Allocation-free variant of `rows(_:)` for training loops that reuse one batch buffer.
    public func gatherRows(_ indices: some Collection<Int>, into buffer: UnsafeMutableBufferPointer<Float>) {
        let d = dimension
        precondition(buffer.count >= indices.count * d, "batch buffer too small")
        pixels.withUnsafeBufferPointer { src in
            var dst = buffer.baseAddress!
            for i in indices {
                precondition(i >= 0 && i < count, "row index \(i) out of range 0..<\(count)")
                dst.update(from: src.baseAddress! + i * d, count: d)
                dst += d
            }
        }
    }

    /// Labels of the rows at `indices`, or nil if the data set has none.
    public func labels(_ indices: some Collection<Int>) -> [UInt8]? {
        guard let labels else { return nil }
        return indices.map { labels[$0] }
    }

    /// The first `n` rows (all of them if `n >= count`); for quick runs and tests.
    public func prefix(_ n: Int) -> Dataset {
        slice(0 ..< min(max(0, n), count))
    }

    /// Rows `range`, e.g. to hold out the last 10,000 MNIST training images as a validation set.
    public func slice(_ range: Range<Int>) -> Dataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice out of range")
        if range == 0 ..< count { return self }
        let suffix = range.lowerBound == 0 ? "[:\(range.upperBound)]" : "[\(range.lowerBound):\(range.upperBound)]"
        return Dataset(name: name + suffix, count: range.count, dimension: dimension,
                       pixels: Array(pixels[range.lowerBound * dimension ..< range.upperBound * dimension]),
                       labels: labels.map { Array($0[range]) }, source: source)
    }

    /// Per-dimension mean over all rows; commonly used to initialise a decoder's output bias
    /// to logit(mean) so training starts from the marginal pixel distribution.
    public func pixelMeans() -> [Float] {
        var sums = [Double](repeating: 0, count: dimension)
        let d = dimension
        pixels.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { s in
                for r in 0 ..< count {
                    let row = p.baseAddress! + r * d
                    for j in 0 ..< d { s[j] += Double(row[j]) }
                }
            }
        }
        let n = Double(max(count, 1))
        return sums.map { Float($0 / n) }
    }
}

/// Finds and reads the data sets from disk.
public enum DatasetLoader {
    /// Environment variable naming a data root that holds `<kind>/` sub-directories.
    public static let environmentVariable = "DISCRETEGRAD_DATA"
    /// Where Debian's `dataset-fashion-mnist` package installs its files.
    public static let debianFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Loads MNIST from `directory` (the four standard IDX files, raw or `.gz`).
    /// - Parameter limit: keep only the first `limit` images.
    public static func mnist(directory: String, split: Split, limit: Int? = nil) throws -> Dataset {
        try idxDataset(.mnist, directory: directory, split: split, limit: limit)
    }

    /// Loads Fashion-MNIST from `directory` (same IDX names as MNIST; Debian's package uses them too).
    public static func fashionMNIST(directory: String, split: Split, limit: Int? = nil) throws -> Dataset {
        try idxDataset(.fashionMNIST, directory: directory, split: split, limit: limit)
    }

    /// Loads statically binarized MNIST (`binarized_mnist_<split>.amat[.gz]`) from `directory`.
    public static func binarizedMNIST(directory: String, split: Split, limit: Int? = nil) throws -> Dataset {
        let path = try findFile(in: directory, names: DatasetKind.binarizedMNIST.fileNames(for: split)[0])
        let (rows, values) = try Amat.read(atPath: path, columns: 784, limit: limit)
        return Dataset(name: "\(DatasetKind.binarizedMNIST.rawValue)/\(split.rawValue)", count: rows,
                       dimension: 784, pixels: values, labels: nil, source: path)
    }

    /// Locates `kind` with the default search order, then loads `split`.
    public static func load(_ kind: DatasetKind, split: Split, searchPaths: [String]? = nil, limit: Int? = nil) throws -> Dataset {
        let directory = try require(kind, searchPaths: searchPaths ?? defaultSearchPaths(for: kind))
        switch kind {
        case .mnist: return try mnist(directory: directory, split: split, limit: limit)
        case .fashionMNIST: return try fashionMNIST(directory: directory, split: split, limit: limit)
        case .binarizedMNIST: return try binarizedMNIST(directory: directory, split: split, limit: limit)
        }
    }

    /// The committed 10k/2k MNIST subset (relative to the checkout). It is never a fallback for full
    /// MNIST: a run uses it only when its config names this directory (`data.directory`), so results
    /// are never silently computed on a sixth of the data.
    public static let embeddedDirectory = "data/embedded"

    /// Default search order, first hit wins:
    /// 1. `$DISCRETEGRAD_DATA/<kind>` (explicit user choice),
    /// 2. `data/<kind>` (full data fetched by `make data`),
    /// 3. `../shared/data/<kind>` (a shared read-only copy next to the checkout),
    /// 4. for Fashion-MNIST, Debian's `/usr/share/datasets/fashion-mnist`.
    /// Relative paths are relative to the current directory.
    public static func defaultSearchPaths(for kind: DatasetKind,
                                          environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var paths: [String] = []
        if let root = environment[environmentVariable], !root.isEmpty {
            paths.append((root as NSString).appendingPathComponent(kind.directoryName))
        }
        paths.append("data/\(kind.directoryName)")
        paths.append("../shared/data/\(kind.directoryName)")
        if kind == .fashionMNIST { paths.append(debianFashionMNISTDirectory) }
        return paths
    }

    /// The first directory (default search order) holding every file of `kind`, or nil.
    public static func locate(_ kind: DatasetKind) -> String? {
        locate(kind, searchPaths: defaultSearchPaths(for: kind))
    }

    /// The first of `searchPaths` holding every file of every split of `kind`, or nil.
    public static func locate(_ kind: DatasetKind, searchPaths: [String]) -> String? {
        searchPaths.first { dir in
            kind.splits.allSatisfy { split in
                kind.fileNames(for: split).allSatisfy { names in
                    (try? findFile(in: dir, names: names)) != nil
                }
            }
        }
    }

    /// Like `locate`, but a miss is a `DataError.datasetNotFound` listing every path tried
    /// and telling the user to run `make data`.
    public static func require(_ kind: DatasetKind, searchPaths: [String]? = nil) throws -> String {
        let paths = searchPaths ?? defaultSearchPaths(for: kind)
        guard let dir = locate(kind, searchPaths: paths) else {
            throw DataError.datasetNotFound(kind: kind, tried: paths)
        }
        return dir
    }

    // MARK: - Internals

    private static func idxDataset(_ kind: DatasetKind, directory: String, split: Split, limit: Int?) throws -> Dataset {
        let names = kind.fileNames(for: split)
        guard names.count == 2 else { throw DataError.splitUnavailable(kind: kind, split: split) }
        let imagesPath = try findFile(in: directory, names: names[0])
        let labelsPath = try findFile(in: directory, names: names[1])

        let imageBytes = try Gzip.readFile(atPath: imagesPath)
        let header = try IDX.imageHeader(imageBytes, path: imagesPath)
        guard header.rows == 28 && header.cols == 28 else {
            throw DataError.badDimensions(path: imagesPath, reason: "expected 28x28 images, found \(header.rows)x\(header.cols)")
        }
        let allLabels = try IDX.readLabels(atPath: labelsPath)
        guard allLabels.count == header.count else {
            throw DataError.countMismatch(imagesPath: imagesPath, images: header.count, labelsPath: labelsPath, labels: allLabels.count)
        }
        let n = min(max(0, limit ?? header.count), header.count)
        let labels = Array(allLabels.prefix(n))
        if let bad = labels.firstIndex(where: { $0 > 9 }) {
            throw DataError.badLabel(path: labelsPath, index: bad, value: labels[bad])
        }
        let d = header.rows * header.cols
        let pixels = bytesToUnitFloats(imageBytes, offset: header.dataOffset, count: n * d)
        return Dataset(name: "\(kind.rawValue)/\(split.rawValue)", count: n, dimension: d,
                       pixels: pixels, labels: labels, source: directory)
    }

    /// `byte / 255` through a 256-entry table: exact, and a gather instead of a divide.
    private static func bytesToUnitFloats(_ bytes: [UInt8], offset: Int, count: Int) -> [Float] {
        let table = (0 ... 255).map { Float($0) / 255 }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    let s = src.baseAddress! + offset
                    for i in 0 ..< count { out[i] = t[Int(s[i])] }
                }
            }
            initialized = count
        }
    }

    /// First existing regular file among `names` in `directory`.
    static func findFile(in directory: String, names: [String]) throws -> String {
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
                return path
            }
        }
        throw DataError.missingFile(directory: directory, triedNames: names)
    }
}
