// `vae-train estimators`: every registered estimator, its latent families, and each option with its
// default and allowed values, as the estimator's own `make` reads them (EstimatorRegistry.optionSpecs).
import Estimators

public enum EstimatorListing {
    public static var text: String {
        var lines: [String] = []
        for descriptor in EstimatorRegistry.all {
            let families = descriptor.families.map(\.rawValue).sorted().joined(separator: ", ")
            lines.append("\(descriptor.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(descriptor.summary) [\(families)]")
            let specs = EstimatorRegistry.optionSpecs(of: descriptor)
            if specs.isEmpty { lines.append("    (no options)") }
            for spec in specs {
                let key = "estimator.\(spec.key)".padding(toLength: 30, withPad: " ", startingAt: 0)
                let value = "default \(spec.defaultValue)".padding(toLength: 24, withPad: " ", startingAt: 0)
                let rule = EstimatorRegistry.modelSizedOptions.contains(spec.key)
                    ? "filled in from the model's sizes" : spec.requirement
                lines.append("    \(key) \(value) \(rule)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The same facts as `text`, as JSON for scripts (`scripts/report.py` takes the estimators' names and
    /// order from it): a list in registry order of `{name, summary, families, options: [{key, default,
    /// requirement}]}`; model-sized options say so in `requirement`.
    public static var json: String {
        let entries: [JSON] = EstimatorRegistry.all.map { descriptor in
            let options: [JSON] = EstimatorRegistry.optionSpecs(of: descriptor).map { spec in
                let value: JSON
                switch spec.defaultValue {
                case .number(let d): value = .number(d)
                case .string(let s): value = .string(s)
                case .bool(let b): value = .bool(b)
                }
                let rule = EstimatorRegistry.modelSizedOptions.contains(spec.key)
                    ? "filled in from the model's sizes" : spec.requirement
                return .object(["key": .string(spec.key), "default": value, "requirement": .string(rule)])
            }
            return .object([
                "name": .string(descriptor.name),
                "summary": .string(descriptor.summary),
                "families": .array(descriptor.families.map(\.rawValue).sorted().map { .string($0) }),
                "options": .array(options),
            ])
        }
        return JSON.array(entries).serialized(pretty: true)
    }
}
