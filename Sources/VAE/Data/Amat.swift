import Foundation

/// Parser for the `.amat` text files of Larochelle & Murray's statically binarized MNIST:
/// one image per line, `columns` values `0` or `1` separated by whitespace.
///
/// The train file is 78 MB of text, so this scans the bytes with raw pointers and writes floats
/// straight into one preallocated output (a fast path validates a canonical `0 1 0 ...\n` line
/// without branches); splitting 50,000 lines into Swift `String`s would be far slower. Any deviation (wrong column count, a token that is not exactly `0` or `1`) is an error
/// naming the 1-based line and column, because a silently skipped or shifted row would corrupt
/// every later image.
public enum Amat {
    /// Values per row in binarized MNIST (28 x 28).
    public static let defaultColumns = 784

    /// Reads (gunzipping if needed) and parses an amat file.
    /// - Parameter limit: stop after this many rows (the rest of the file is not validated).
    public static func read(atPath path: String, columns: Int = defaultColumns, limit: Int? = nil) throws -> (rows: Int, values: [Float]) {
        try parse(Gzip.readFile(atPath: path), path: path, columns: columns, limit: limit)
    }

    /// Parses amat text. Returns the number of rows and `rows * columns` values, row-major.
    /// Blank lines are allowed only at the very end of the file.
    public static func parse(_ bytes: [UInt8], path: String, columns: Int = defaultColumns, limit: Int? = nil) throws -> (rows: Int, values: [Float]) {
        precondition(columns > 0, "columns must be positive")
        let n = bytes.count
        let lineBound = upperBoundOnLines(bytes)
        let maxRows = limit.map { min(max(0, $0), lineBound) } ?? lineBound
        if limit.map({ $0 <= 0 }) == true { return (0, []) }
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")

        var rows = 0
        // Uninitialized: every element below rows * columns is written before it is counted.
        let values = try [Float](unsafeUninitializedCapacity: maxRows * columns) { outBuf, initialized in
            try bytes.withUnsafeBufferPointer { inBuf in
                guard let b = inBuf.baseAddress, let out = outBuf.baseAddress else { return }
                @inline(__always) func isSeparator(_ c: UInt8) -> Bool {
                    c == space || c == tab || c == cr || c == lf
                }
                let canonicalLength = 2 * columns  // "d d ... d\n"
                var i = 0
                var line = 0
                while i < n && rows < maxRows {
                    line += 1
                    let dst = out + rows * columns
                    // Fast path for the canonical layout (every line of the real files): digits at
                    // even offsets, single spaces between, '\n' at the end. Branch-free validation;
                    // any deviation falls through to the general parser, which finds the exact error.
                    if i + canonicalLength <= n && b[i + canonicalLength - 1] == lf {
                        let src = b + i
                        var bad: UInt8 = 0
                        for j in 0 ..< columns {
                            let d = src[2 * j] &- zero
                            bad |= d & 0xfe
                            dst[j] = Float(d & 1)
                        }
                        for j in 0 ..< columns - 1 {
                            bad |= src[2 * j + 1] ^ space
                        }
                        if bad == 0 {
                            i += canonicalLength
                            rows += 1
                            continue
                        }
                    }
                    // General path: any whitespace, CRLF, a missing final newline; exact errors.
                    var col = 0
                    while i < n {
                        let c = b[i]
                        if c == lf { break }
                        if c == space || c == tab || c == cr { i += 1; continue }
                        if (c == zero || c == one) && (i + 1 == n || isSeparator(b[i + 1])) {
                            if col < columns { dst[col] = c == one ? 1 : 0 }
                            col += 1
                            i += 1
                            continue
                        }
                        var end = i
                        while end < n && !isSeparator(b[end]) { end += 1 }
                        let token = String(decoding: UnsafeBufferPointer(start: b + i, count: min(end - i, 40)), as: UTF8.self)
                        throw DataError.amatBadValue(path: path, line: line, column: col + 1,
                                                     token: end - i > 40 ? token + "..." : token)
                    }
                    if i < n { i += 1 }  // consume the newline
                    if col == 0 {
                        // A blank line: fine at the end of the file, an error anywhere else.
                        var j = i
                        while j < n && isSeparator(b[j]) { j += 1 }
                        if j == n { break }
                    }
                    guard col == columns else {
                        throw DataError.amatColumnCount(path: path, line: line, found: col, expected: columns)
                    }
                    rows += 1
                }
            }
            initialized = rows * columns
        }
        guard rows > 0 else { throw DataError.amatEmpty(path: path) }
        return (rows, values)
    }

    /// Number of line feeds plus one: at least the number of rows, so one allocation suffices.
    private static func upperBoundOnLines(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { buf in
            var count = 1
            for c in buf where c == 0x0a { count += 1 }
            return count
        }
    }
}
