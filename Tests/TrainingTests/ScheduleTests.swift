import Estimators
import Foundation
import TestSupport
import Training
import XCTest

/// Learning-rate and temperature schedules (`schedule` section; issue 11): their formulas, their config
/// errors, what a run logs and uses, resume, and sweeps that mix estimators with and without a temperature.
final class ScheduleTests: XCTestCase {
    func config(estimator: String = #"{"name": "gs", "temperature": 1.5}"#, schedule: String, epochs: Int = 3) throws -> RunConfig {
        try TestRuns.config(TestRuns.configText(name: "s", testLimit: 100, hidden: 32, estimator: estimator,
                                                training: #"{"epochs": \#(epochs), "batch_size": 50, "seed": 5, "learning_rate": 0.002}"#,
                                                extra: #", "schedule": \#(schedule)"#))
    }

    func assertConfigError(estimator: String = #"{"name": "gs"}"#, schedule: String, contains fragments: [String],
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try config(estimator: estimator, schedule: schedule), file: file, line: line) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    // MARK: Formulas
    // Closed forms evaluated in Double: rounding ~1e-19 on rates ~1e-3 and ~1e-16 on temperatures ~1, so
    // 1e-15 is slack for it; a wrong formula is off by ≥ 1e-5.

    func testStepDecayMultipliesEveryNSteps() {
        let schedule = LearningRateSchedule.step(every: 100, factor: 0.5)
        XCTAssertEqual(schedule.value(base: 1e-3, step: 0, totalSteps: 1000), 1e-3)
        XCTAssertEqual(schedule.value(base: 1e-3, step: 99, totalSteps: 1000), 1e-3)
        XCTAssertEqual(schedule.value(base: 1e-3, step: 100, totalSteps: 1000), 5e-4)
        XCTAssertEqual(schedule.value(base: 1e-3, step: 250, totalSteps: 1000), 2.5e-4)
    }

    func testCosineGoesFromTheBaseToTheMinimumAndStays() {
        let overRun = LearningRateSchedule.cosine(steps: nil, minimum: 1e-4)
        XCTAssertEqual(overRun.value(base: 1e-3, step: 0, totalSteps: 400), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(overRun.value(base: 1e-3, step: 200, totalSteps: 400), 5.5e-4, accuracy: 1e-15)  // halfway: the mean
        XCTAssertEqual(overRun.value(base: 1e-3, step: 400, totalSteps: 400), 1e-4, accuracy: 1e-15)
        let fixed = LearningRateSchedule.cosine(steps: 100, minimum: 0)
        XCTAssertEqual(fixed.value(base: 2e-3, step: 50, totalSteps: 9999), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(fixed.value(base: 2e-3, step: 5000, totalSteps: 9999), 0, accuracy: 1e-15)
    }

    func testTemperatureAnnealsEveryNStepsDownToTheFloor() {
        let schedule = TemperatureSchedule(minimum: 0.5, rate: 1e-3, every: 100)
        XCTAssertEqual(schedule.value(initial: 1, step: 0), 1)
        XCTAssertEqual(schedule.value(initial: 1, step: 99), 1, "held until the next multiple of `every`")
        XCTAssertEqual(schedule.value(initial: 1, step: 150), exp(-0.1), accuracy: 1e-15)
        XCTAssertEqual(schedule.value(initial: 1, step: 1_000_000), 0.5)
    }

    // MARK: Config

    func testConfigErrorsNameTheKeyAndTheRule() {
        assertConfigError(schedule: #"{"learning_rate": {"type": "linear"}}"#, contains: ["schedule.learning_rate.type", "\"step\", \"cosine\""])
        assertConfigError(schedule: #"{"learning_rate": {"type": "step", "every": 10}}"#, contains: ["schedule.learning_rate.factor", "missing"])
        assertConfigError(schedule: #"{"learning_rate": {"type": "step", "every": 10, "factor": 2}}"#, contains: ["schedule.learning_rate.factor", "(0, 1]"])
        assertConfigError(schedule: #"{"learning_rate": {"type": "cosine", "steps": 0}}"#, contains: ["schedule.learning_rate.steps"])
        assertConfigError(schedule: #"{"learning_rate": {"type": "cosine", "minimum": 0.01}}"#, contains: ["schedule.learning_rate.minimum", "training.learning_rate"])
        assertConfigError(schedule: #"{"temperature": {"minimum": 0.5, "rate": 1e-4, "evry": 10}}"#, contains: ["schedule.temperature.evry"])
        assertConfigError(schedule: #"{"temperature": {"rate": 1e-4}}"#, contains: ["schedule.temperature.minimum", "missing"])
        assertConfigError(schedule: #"{"tau": {}}"#, contains: ["schedule.tau"])
        // Estimators it cannot apply to, and floors the estimator rejects.
        assertConfigError(estimator: #"{"name": "reinforce"}"#, schedule: #"{"temperature": {"minimum": 0.5, "rate": 1e-4}}"#,
                          contains: ["'reinforce' has no temperature option", "gs"])
        assertConfigError(estimator: #"{"name": "rebar"}"#, schedule: #"{"temperature": {"minimum": 0.1, "rate": 1e-4}}"#,
                          contains: ["'rebar' learns its temperature"])
        assertConfigError(estimator: #"{"name": "reinmax"}"#, schedule: #"{"temperature": {"minimum": 0.5, "rate": 1e-4}}"#,
                          contains: ["schedule.temperature.minimum", ">= 1"])
        assertConfigError(estimator: #"{"name": "gs", "temperature": 0.5}"#, schedule: #"{"temperature": {"minimum": 0.7, "rate": 1e-4}}"#,
                          contains: ["schedule.temperature.minimum", "τ₀ = 0.5"])
    }

    func testTheResolvedConfigHoldsTheScheduleOnlyWhenOneIsSet() throws {
        let with = try config(schedule: #"{"learning_rate": {"type": "step", "every": 10, "factor": 0.5}}"#)
        XCTAssertEqual(with.json.value(at: "schedule.learning_rate.factor"), .number(0.5))
        XCTAssertNil(with.json.value(at: "schedule.temperature"))
        XCTAssertEqual(try RunConfig(json: with.json), with, "the resolved config decodes to itself")
        XCTAssertNil(try config(schedule: "{}").json["schedule"], "no schedule, no key: configs from before schedules compare equal")
    }

    // MARK: Runs

    /// The learning rate and temperature logged per epoch are the formulas' values at the epoch's last
    /// update, and the estimator really runs at the scheduled temperature.
    func testARunUsesAndLogsTheScheduledValues() throws {
        let dir = temporaryDirectory()
        let cfg = try config(schedule: #"{"learning_rate": {"type": "cosine", "minimum": 1e-4}, "temperature": {"minimum": 0.5, "rate": 2e-3, "every": 4}}"#)
        let trainer = try Trainer(config: cfg, directory: dir, log: { _ in })
        try trainer.run()
        let csv = try readCSV(dir + "/metrics.csv")
        XCTAssertEqual(csv.header, EpochMetrics.columns(learningRate: true, temperature: true))
        XCTAssertEqual(Array(csv.header.suffix(5)), ["learning_rate", "temperature", "examples_per_sec", "epoch_seconds", "elapsed_seconds"])
        let lr = csv.header.firstIndex(of: "learning_rate")!, tau = csv.header.firstIndex(of: "temperature")!
        // The CSV writes the rate with 12 decimal places and the temperature with 9 (rounding ≤ 5e-13 and
        // ≤ 5e-10, well inside 1e-9 and 1e-8); the rate is the optimizer's Float, hence the
        // Float(expected). A wrong step count moves the rate by ≥ 1e-5 and the temperature by ~1e-2 at a hold boundary (4 steps).
        for (e, row) in csv.rows.enumerated() {
            let lastUpdate = (e + 1) * 8 - 1  // 400 examples / 50 per batch = 8 steps per epoch
            let expectedRate = 1e-4 + 0.5 * (2e-3 - 1e-4) * (1 + cos(Double.pi * Double(lastUpdate) / 24))
            XCTAssertEqual(Double(row[lr])!, Double(Float(expectedRate)), accuracy: 1e-9, "epoch \(e + 1)")
            XCTAssertEqual(Double(row[tau])!, max(0.5, 1.5 * exp(-2e-3 * Double(lastUpdate / 4 * 4))), accuracy: 1e-8, "epoch \(e + 1)")
        }
        let gs = try XCTUnwrap(trainer.estimator as? GumbelSoftmax<Float>)
        XCTAssertEqual(gs.temperature, Float(1.5 * exp(-2e-3 * 20.0)), "the estimator in use was built with the last scheduled temperature")
        XCTAssertNotEqual(gs.temperature, 1.5)
    }

    func testWithoutASchedulesMetricsKeepTheirColumns() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try config(schedule: "{}", epochs: 1), directory: dir, log: { _ in }).run()
        XCTAssertEqual(try readCSV(dir + "/metrics.csv").header, EpochMetrics.columns)
    }

    /// Kill after one epoch and resume: the same CSV as a run that was never stopped (the schedules are
    /// functions of the step, and the estimator is rebuilt at the right temperature on resume).
    func testResumeContinuesTheSchedulesExactly() throws {
        let schedule = #"{"learning_rate": {"type": "step", "every": 6, "factor": 0.7}, "temperature": {"minimum": 0.3, "rate": 0.01, "every": 3}}"#
        let straight = temporaryDirectory(), interrupted = temporaryDirectory()
        try Trainer(config: try config(schedule: schedule), directory: straight, log: { _ in }).run()
        _ = try Trainer(config: try config(schedule: schedule), directory: interrupted, log: { _ in }).trainEpochForTesting()
        try Trainer(config: try config(schedule: schedule), directory: interrupted, log: { _ in }).run(resume: true)
        XCTAssertEqual(try deterministicColumns(straight + "/metrics.csv"), try deterministicColumns(interrupted + "/metrics.csv"))
    }

    /// A cosine spanning the run cannot be continued to more epochs (its past rates would change); one
    /// with a fixed `steps` can.
    func testACosineOverTheRunCannotBeExtended() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try config(schedule: #"{"learning_rate": {"type": "cosine"}}"#, epochs: 1), directory: dir, log: { _ in }).run()
        XCTAssertThrowsError(try RunFolder.decide(directory: dir, config: try config(schedule: #"{"learning_rate": {"type": "cosine"}}"#, epochs: 2),
                                                  resume: true, overwrite: false)) { error in
            XCTAssertFalse("\(error)".contains("--resume to continue"), "\(error)")
        }
        let fixed = temporaryDirectory()
        try Trainer(config: try config(schedule: #"{"learning_rate": {"type": "cosine", "steps": 40}}"#, epochs: 1), directory: fixed, log: { _ in }).run()
        XCTAssertEqual(try RunFolder.decide(directory: fixed, config: try config(schedule: #"{"learning_rate": {"type": "cosine", "steps": 40}}"#, epochs: 2),
                                            resume: true, overwrite: false), .resume)
    }

    // MARK: Sweeps

    func testASweepDropsTheTemperatureScheduleForEstimatorsWithoutOne() throws {
        let text = #"{"estimator": {"name": ["gs", "reinforce"]}, "schedule": {"temperature": {"minimum": 0.5, "rate": [1e-4, 1e-3]}}}"#
        let plan = try Sweep.plan(json: JSON.parse(Data(text.utf8)), defaultName: "t", outputDirectory: "/tmp/x")
        // gs: two rates; reinforce: the rate axis does not apply, so one run.
        XCTAssertEqual(plan.runs.count, 3)
        XCTAssertEqual(plan.runs.filter { $0.config.estimator.estimator == "reinforce" }.map(\.config.schedule.temperature), [nil])
        XCTAssertEqual(plan.runs.filter { $0.config.estimator.estimator == "gs" }.compactMap(\.config.schedule.temperature?.rate), [1e-4, 1e-3])
        XCTAssertTrue(plan.notes.contains { $0.contains("schedule.temperature applies to gs only; dropped for the runs of reinforce") }, "\(plan.notes)")
        // When no estimator of the sweep has a temperature, it is an error.
        XCTAssertThrowsError(try Sweep.plan(json: JSON.parse(Data(#"{"estimator": {"name": ["reinforce", "nvil"]}, "schedule": {"temperature": {"minimum": 0.5, "rate": 1e-4}}}"#.utf8)),
                                            defaultName: "t", outputDirectory: "/tmp/x")) { error in
            XCTAssertTrue("\(error)".contains("has no temperature option"), "\(error)")
        }
    }
}
