// `vae-train estimators`: every registered estimator, its latent families, and each option with its
// default and allowed values, as the estimator's own `make` reads them (RegisteredEstimator.optionSpecs).
import Estimators

public enum EstimatorListing {
    public static var text: String {
        var lines: [String] = []
        for entry in EstimatorRegistry.all {
            let families = entry.families.map(\.rawValue).sorted().joined(separator: ", ")
            lines.append("\(entry.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(entry.summary) [\(families)]")
            if entry.optionSpecs.isEmpty { lines.append("    (no options)") }
            for spec in entry.optionSpecs {
                let key = "estimator.\(spec.key)".padding(toLength: 30, withPad: " ", startingAt: 0)
                let value = "default \(spec.defaultValue)".padding(toLength: 24, withPad: " ", startingAt: 0)
                lines.append("    \(key) \(value) \(spec.requirement)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The same facts as `text`, as JSON for scripts (`scripts/report.py` takes the estimators' names and
    /// order from it): a list in registry order of `{name, summary, families, options: [{key, default,
    /// requirement}]}`; model-sized options say so in `requirement`.
    public static var json: String {
        let entries: [JSON] = EstimatorRegistry.all.map { entry in
            let options: [JSON] = entry.optionSpecs.map { spec in
                let value: JSON
                switch spec.defaultValue {
                case .number(let d): value = .number(d)
                case .string(let s): value = .string(s)
                case .bool(let b): value = .bool(b)
                }
                return .object(["key": .string(spec.key), "default": value, "requirement": .string(spec.requirement)])
            }
            return .object([
                "name": .string(entry.name),
                "summary": .string(entry.summary),
                "families": .array(entry.families.map(\.rawValue).sorted().map { .string($0) }),
                "options": .array(options),
            ])
        }
        return JSON.array(entries).serialized(pretty: true)
    }
}
