import Foundation

/// The header of an IDX unsigned-byte image file, validated against the content length.
public struct IDXImageHeader: Equatable, Sendable {
    public let count: Int
    public let rows: Int
    public let cols: Int
    /// Byte offset of the first pixel (always 16).
    public let dataOffset: Int

    public init(count: Int, rows: Int, cols: Int, dataOffset: Int) {
        self.count = count
        self.rows = rows
        self.cols = cols
        self.dataOffset = dataOffset
    }
}

/// Parser for the MNIST IDX format (big-endian header, then raw `UInt8` data).
///
/// Validation is strict on purpose: the file's byte length must equal exactly what the header
/// implies. A truncated download or a file with junk appended is an error, never a data set that
/// is silently shorter or shifted.
public enum IDX {
    /// `0x00000803`: unsigned bytes, 3 dimensions (count, rows, cols).
    public static let imageMagic: UInt32 = 0x0000_0803
    /// `0x00000801`: unsigned bytes, 1 dimension (count).
    public static let labelMagic: UInt32 = 0x0000_0801

    /// Validates an image file's header and length; the pixels are `bytes[dataOffset...]`.
    /// Returning only the header lets callers convert pixels in place without copying 47 MB.
    public static func imageHeader(_ bytes: [UInt8], path: String) throws -> IDXImageHeader {
        let dims = try header(bytes, path: path, magic: imageMagic, dimensions: 3, what: "image")
        return IDXImageHeader(count: dims[0], rows: dims[1], cols: dims[2], dataOffset: 16)
    }

    /// Parses an image file into its header and a copy of its pixels (row-major, one byte each).
    public static func parseImages(_ bytes: [UInt8], path: String) throws -> (header: IDXImageHeader, pixels: [UInt8]) {
        let h = try imageHeader(bytes, path: path)
        return (h, Array(bytes[h.dataOffset...]))
    }

    /// Parses a label file into its labels.
    public static func parseLabels(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        _ = try header(bytes, path: path, magic: labelMagic, dimensions: 1, what: "label")
        return Array(bytes[8...])
    }

    /// Reads (gunzipping if needed) and parses an image file.
    public static func readImages(atPath path: String) throws -> (header: IDXImageHeader, pixels: [UInt8]) {
        try parseImages(Gzip.readFile(atPath: path), path: path)
    }

    /// Reads (gunzipping if needed) and parses a label file.
    public static func readLabels(atPath path: String) throws -> [UInt8] {
        try parseLabels(Gzip.readFile(atPath: path), path: path)
    }

    /// Checks magic, that every dimension is > 0, and that the length matches exactly.
    /// Returns the dimensions.
    static func header(_ bytes: [UInt8], path: String, magic: UInt32, dimensions: Int, what: String) throws -> [Int] {
        let headerLength = 4 + 4 * dimensions
        guard bytes.count >= 4 else {
            throw DataError.lengthMismatch(path: path, expected: headerLength, actual: bytes.count)
        }
        let found = readUInt32BE(bytes, at: 0)
        guard found == magic else {
            throw DataError.badMagic(path: path, found: found, expected: magic)
        }
        guard bytes.count >= headerLength else {
            throw DataError.lengthMismatch(path: path, expected: headerLength, actual: bytes.count)
        }
        var dims: [Int] = []
        var total = 1
        for d in 0 ..< dimensions {
            let v = Int(readUInt32BE(bytes, at: 4 + 4 * d))
            guard v > 0 else {
                throw DataError.badDimensions(path: path, reason: "dimension \(d) of the \(what) header is 0")
            }
            let (product, overflow) = total.multipliedReportingOverflow(by: v)
            guard !overflow else {
                throw DataError.badDimensions(path: path, reason: "header dimensions overflow")
            }
            total = product
            dims.append(v)
        }
        let (expected, overflow) = total.addingReportingOverflow(headerLength)
        guard !overflow else {
            throw DataError.badDimensions(path: path, reason: "header dimensions overflow")
        }
        guard expected == bytes.count else {
            throw DataError.lengthMismatch(path: path, expected: expected, actual: bytes.count)
        }
        return dims
    }

    @inline(__always)
    static func readUInt32BE(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Serialises an image file; the inverse of `parseImages`. Used for fixtures and subsets.
    public static func encodeImages(count: Int, rows: Int, cols: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(pixels.count == count * rows * cols, "pixel count does not match dimensions")
        var out: [UInt8] = []
        out.reserveCapacity(16 + pixels.count)
        for v in [imageMagic, UInt32(count), UInt32(rows), UInt32(cols)] { appendUInt32BE(&out, v) }
        out.append(contentsOf: pixels)
        return out
    }

    /// Serialises a label file; the inverse of `parseLabels`.
    public static func encodeLabels(_ labels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + labels.count)
        appendUInt32BE(&out, labelMagic)
        appendUInt32BE(&out, UInt32(labels.count))
        out.append(contentsOf: labels)
        return out
    }

    private static func appendUInt32BE(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(v >> 24 & 0xff))
        out.append(UInt8(v >> 16 & 0xff))
        out.append(UInt8(v >> 8 & 0xff))
        out.append(UInt8(v & 0xff))
    }
}
