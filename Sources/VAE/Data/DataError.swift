import Foundation

/// Everything that can go wrong while locating, reading or parsing a data set.
///
/// Each case carries the offending file (or directory) so a failed run says *which* file
/// is bad and *how*, instead of crashing or training on garbage. `description` is meant to be
/// shown to a user as is.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadableFile(path: String, reason: String)
    /// None of the accepted names for a required file exist in `directory`.
    case missingFile(directory: String, triedNames: [String])
    /// The gzip stream ends before its end-of-stream marker / trailer.
    case truncatedGzip(path: String)
    /// zlib rejected the gzip stream (bad header, bad CRC, bad deflate data, trailing garbage).
    case corruptGzip(path: String, reason: String)
    /// The IDX magic number is not the one expected for this kind of file.
    case badMagic(path: String, found: UInt32, expected: UInt32)
    /// A header dimension is zero, overflows, or is not the shape the caller needs.
    case badDimensions(path: String, reason: String)
    /// The (decompressed) content length differs from what the header implies:
    /// shorter means truncated, longer means trailing bytes.
    case lengthMismatch(path: String, expected: Int, actual: Int)
    /// The image and label files disagree on the number of records.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// A label outside 0...9.
    case badLabel(path: String, index: Int, value: UInt8)
    /// An amat row (1-based `line`) with the wrong number of values.
    case amatColumnCount(path: String, line: Int, found: Int, expected: Int)
    /// An amat token other than `0` or `1` (1-based `line` and `column`).
    case amatBadValue(path: String, line: Int, column: Int, token: String)
    /// An amat file without a single row.
    case amatEmpty(path: String)
    /// The data set has no such split (e.g. MNIST has no official validation split).
    case splitUnavailable(kind: DatasetKind, split: Split)
    /// No search path holds the data set; `tried` lists them all in order.
    case datasetNotFound(kind: DatasetKind, tried: [String])

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): file not found"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read file: \(reason)"
        case let .missingFile(directory, names):
            return "\(directory): missing file; looked for \(names.joined(separator: ", "))"
        case let .truncatedGzip(path):
            return "\(path): truncated gzip stream (file ends before the end of the compressed data)"
        case let .corruptGzip(path, reason):
            return "\(path): corrupt gzip stream: \(reason)"
        case let .badMagic(path, found, expected):
            var hint = ""
            if found == IDX.labelMagic && expected == IDX.imageMagic {
                hint = " (this looks like an IDX label file)"
            } else if found == IDX.imageMagic && expected == IDX.labelMagic {
                hint = " (this looks like an IDX image file)"
            }
            return "\(path): bad magic number \(hex(found)), expected \(hex(expected))\(hint)"
        case let .badDimensions(path, reason):
            return "\(path): wrong dimensions: \(reason)"
        case let .lengthMismatch(path, expected, actual):
            if actual < expected {
                return "\(path): truncated data: header implies \(expected) bytes but the content has only \(actual) (\(expected - actual) missing)"
            }
            return "\(path): \(actual - expected) trailing bytes: header implies \(expected) bytes but the content has \(actual)"
        case let .countMismatch(imagesPath, images, labelsPath, labels):
            return "count mismatch between images and labels: \(imagesPath) has \(images) images but \(labelsPath) has \(labels) labels"
        case let .badLabel(path, index, value):
            return "\(path): bad label \(value) at index \(index) (expected 0...9)"
        case let .amatColumnCount(path, line, found, expected):
            return "\(path): line \(line): wrong number of values: found \(found), expected \(expected)"
        case let .amatBadValue(path, line, column, token):
            return "\(path): line \(line): bad value \"\(token)\" in column \(column) (expected 0 or 1)"
        case let .amatEmpty(path):
            return "\(path): no rows (empty amat file)"
        case let .splitUnavailable(kind, split):
            return "\(kind.rawValue) has no '\(split.rawValue)' split (available: \(kind.splits.map(\.rawValue).joined(separator: ", ")))"
        case let .datasetNotFound(kind, tried):
            let list = tried.isEmpty ? "  (no search paths)" : tried.map { "  - \($0)" }.joined(separator: "\n")
            return """
                data set '\(kind.rawValue)' not found; looked for \(kind.requiredFilesSummary) in:
                \(list)
                \(kind == .fashionMNIST
                    ? "Run `make data-fashion-mnist` (or scripts/fetch_data.sh fashion_mnist; it also copies Debian's dataset-fashion-mnist), "
                    : "Run `make data` (or scripts/fetch_data.sh \(kind.rawValue)) to fetch it, ")\
                or set DISCRETEGRAD_DATA to a directory containing \(kind.rawValue)/.
                """
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
