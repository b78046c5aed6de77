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
}
