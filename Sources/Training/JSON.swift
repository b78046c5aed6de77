// A small JSON tree: configs are validated key by key from it (so an unknown or mistyped key is
// reported with its full path), overridden by `--set a.b=value`, and written back resolved.
import Foundation

public enum JSON: Equatable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(d):
            if d == d.rounded() && Swift.abs(d) < 1e15 { try c.encode(Int(d)) } else { try c.encode(d) }
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public static func parse(_ data: Data) throws -> JSON { try JSONDecoder().decode(JSON.self, from: data) }

    /// Parses a `--set` value: JSON if it parses (numbers, lists, true/false, quoted strings), else a bare string.
    public static func parseLoose(_ text: String) -> JSON {
        if let parsed = try? parse(Data(text.utf8)) { return parsed }
        return .string(text)
    }

    public func serialized(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public var description: String { serialized(pretty: false) }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    public subscript(key: String) -> JSON? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    /// Value at a dotted path (`training.learning_rate`).
    public func value(at path: String) -> JSON? {
        var node: JSON? = self
        for part in path.split(separator: ".") { node = node?[String(part)] }
        return node
    }

    /// Sets the value at a dotted path, creating intermediate objects.
    public mutating func set(_ path: String, to value: JSON) {
        let parts = path.split(separator: ".").map(String.init)
        self = JSON.setting(self, parts[...], value)
    }

    private static func setting(_ node: JSON, _ parts: ArraySlice<String>, _ value: JSON) -> JSON {
        guard let head = parts.first else { return value }
        var object: [String: JSON] = [:]
        if case let .object(o) = node { object = o }
        object[head] = setting(object[head] ?? .null, parts.dropFirst(), value)
        return .object(object)
    }
}
