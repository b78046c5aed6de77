// The one CSV writer: every CSV the tool writes (metrics.csv, steps.csv, summary.csv, analysis.csv, bench,
// poly and toy tables) is a header and rows of `CSVValue`s formatted here, so pandas, R and gnuplot read them
// all the same way without help.
import Foundation

/// One cell. Numbers are written in plain decimal with a fixed number of places (never exponent notation;
/// `nan`, `inf`, `-inf` for non-finite values); `missing` is an empty cell; text is quoted only when it holds
/// a comma, a quote or a line break (RFC 4180).
public enum CSVValue: Equatable, Sendable {
    case integer(Int)
    case number(Double, places: Int)
    case text(String)
    case missing

    /// A number, or an empty cell for nil.
    public static func number(_ x: Double?, places: Int) -> CSVValue { x.map { .number($0, places: places) } ?? .missing }

    public var field: String {
        switch self {
        case let .integer(i): return String(i)
        case let .number(x, places): return CSVValue.decimal(x, places: places)
        case let .text(s):
            guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        case .missing: return ""
        }
    }

    /// The number format of every CSV: plain decimal, `places` digits after the point.
    public static func decimal(_ x: Double, places: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return String(format: "%.\(places)f", x)
    }
}

/// A CSV file being built: the header, then one line per `append`.
public struct CSVTable: Sendable {
    public let columns: [String]
    public private(set) var lines: [String] = []

    public init(columns: [String]) { self.columns = columns }

    /// One line of cells; there must be one per column.
    public static func line(_ row: [CSVValue]) -> String { row.map(\.field).joined(separator: ",") }

    public mutating func append(_ row: [CSVValue]) {
        precondition(row.count == columns.count, "CSV row has \(row.count) cells for \(columns.count) columns")
        lines.append(Self.line(row))
    }

    public var header: String { columns.joined(separator: ",") }
    public var text: String { ([header] + lines).map { $0 + "\n" }.joined() }

    /// Writes the table atomically (a reader, or a killed run, never sees half a file).
    public func write(to path: String) throws { try writeAtomically(Data(text.utf8), to: path) }
}
