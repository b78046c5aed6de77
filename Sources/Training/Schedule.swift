// Schedules: the learning rate and the estimator's temperature as functions of the optimizer step, from the
// config's `schedule` section. Both are pure functions of the step, so a resumed run continues them exactly.
import Foundation

/// `schedule.learning_rate`: how the learning rate moves from `training.learning_rate` (lr₀) over the run.
/// Absent, it stays lr₀.
public enum LearningRateSchedule: Equatable, Sendable {
    /// lr₀ · factor^⌊t / every⌋: multiplied by `factor` after every `every` steps.
    case step(every: Int, factor: Double)
    /// minimum + ½ (lr₀ − minimum)(1 + cos(π · min(t, steps) / steps)): half a cosine from lr₀ down to
    /// `minimum` over `steps` steps, then `minimum`. `steps` nil means the run's total steps (epochs × steps per
    /// epoch), which is why such a run cannot be resumed to more epochs (its schedule would change).
    case cosine(steps: Int?, minimum: Double)

    /// The learning rate for the update made at step `t` (0-based: the run's first update is t = 0).
    public func value(base: Double, step t: Int, totalSteps: Int) -> Double {
        switch self {
        case let .step(every, factor):
            return base * pow(factor, Double(t / every))
        case let .cosine(steps, minimum):
            let length = max(1, steps ?? totalSteps)
            let progress = Double(min(t, length)) / Double(length)
            return minimum + 0.5 * (base - minimum) * (1 + cos(Double.pi * progress))
        }
    }

    var json: JSON {
        switch self {
        case let .step(every, factor):
            return .object(["type": .string("step"), "every": .number(Double(every)), "factor": .number(factor)])
        case let .cosine(steps, minimum):
            return .object(["type": .string("cosine"), "steps": steps.map { .number(Double($0)) } ?? .null,
                            "minimum": .number(minimum)])
        }
    }
}

/// `schedule.temperature`: exponential annealing of the estimator's `temperature` (τ₀, the estimator's own
/// option), as in Jang et al. (2017): τ = max(minimum, τ₀ · exp(−rate · t)), with t held at the last
/// multiple of `every` (the temperature changes every `every` steps).
public struct TemperatureSchedule: Equatable, Sendable {
    public var minimum: Double
    public var rate: Double
    public var every: Int

    public init(minimum: Double, rate: Double, every: Int) {
        self.minimum = minimum
        self.rate = rate
        self.every = every
    }

    /// The temperature in force at step `t` (0-based).
    public func value(initial: Double, step t: Int) -> Double {
        max(minimum, initial * exp(-rate * Double((t / every) * every)))
    }

    var json: JSON {
        .object(["type": .string("exponential"), "minimum": .number(minimum), "rate": .number(rate), "every": .number(Double(every))])
    }
}

/// The config's `schedule` section; nil entries are constant.
public struct ScheduleConfig: Equatable, Sendable {
    public var learningRate: LearningRateSchedule?
    public var temperature: TemperatureSchedule?

    public init(learningRate: LearningRateSchedule? = nil, temperature: TemperatureSchedule? = nil) {
        self.learningRate = learningRate
        self.temperature = temperature
    }

    public var isEmpty: Bool { learningRate == nil && temperature == nil }

    /// The section as written to config.json: only the schedules that are set, so a run without any has no
    /// `schedule` key (and its config compares equal to one written before schedules existed).
    var json: JSON? {
        if isEmpty { return nil }
        var object: [String: JSON] = [:]
        if let learningRate { object["learning_rate"] = learningRate.json }
        if let temperature { object["temperature"] = temperature.json }
        return .object(object)
    }

    static func decode(_ json: JSON?) throws -> ScheduleConfig {
        var section = try SectionReader(json, path: "schedule")
        var result = ScheduleConfig()
        if let raw = section.raw("learning_rate") {
            var s = try SectionReader(raw, path: "schedule.learning_rate")
            let kind = try s.string("type")
            switch kind {
            case "step":
                let every = try s.integer("every", default: 0, minimum: 1)
                guard s.object["every"] != nil else { throw missing("schedule.learning_rate.every", "an integer >= 1: steps between decays") }
                guard s.object["factor"] != nil else { throw missing("schedule.learning_rate.factor", "a number in (0, 1]: the decay per `every` steps") }
                let factor = try s.number("factor", default: 0, requirement: "must be in (0, 1]") { $0 > 0 && $0 <= 1 }
                result.learningRate = .step(every: every, factor: factor)
            case "cosine":
                let steps = try s.optionalInteger("steps", minimum: 1)
                let minimum = try s.number("minimum", default: 0, requirement: "must be >= 0") { $0 >= 0 }
                result.learningRate = .cosine(steps: steps, minimum: minimum)
            default:
                throw ConfigError.invalidValue(path: "schedule.learning_rate.type", value: kind.map { "\"\($0)\"" } ?? "missing",
                                               requirement: "one of \"step\", \"cosine\"")
            }
            try s.finish()
        }
        if let raw = section.raw("temperature") {
            var s = try SectionReader(raw, path: "schedule.temperature")
            let kind = try s.string("type") ?? "exponential"
            guard kind == "exponential" else {
                throw ConfigError.invalidValue(path: "schedule.temperature.type", value: "\"\(kind)\"", requirement: "\"exponential\" (the only one)")
            }
            guard s.object["minimum"] != nil else { throw missing("schedule.temperature.minimum", "a number > 0: the floor τ never goes below") }
            guard s.object["rate"] != nil else { throw missing("schedule.temperature.rate", "a number >= 0: r in τ₀·exp(−r·t)") }
            let minimum = try s.number("minimum", default: 0, requirement: "must be > 0") { $0 > 0 }
            let rate = try s.number("rate", default: 0, requirement: "must be >= 0") { $0 >= 0 }
            let every = try s.integer("every", default: 1, minimum: 1)
            result.temperature = TemperatureSchedule(minimum: minimum, rate: rate, every: every)
            try s.finish()
        }
        try section.finish()
        return result
    }

    private static func missing(_ path: String, _ requirement: String) -> ConfigError {
        ConfigError.invalidValue(path: path, value: "missing", requirement: requirement)
    }
}
