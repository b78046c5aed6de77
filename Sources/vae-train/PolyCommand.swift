// `vae-train poly`: the ReinMax polynomial-programming toy (see Training/Poly.swift), over a list of
// estimators, exponents p and seeds; writes curves.csv, table.csv and table.md to the output folder.
import ArgumentParser
import Estimators
import Foundation
import Experiments
import Training

struct PolyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poly",
        abstract: "Run the ReinMax polynomial-programming toy (128 binary variables, target 0.45).")

    @Option(help: "JSON config (default configs/poly.json when it exists; the flags below override it).")
    var config: String?

    @Option(help: "Comma-separated estimator names (with the config's options for that name, else defaults).")
    var estimators: String?

    @Option(help: "Comma-separated exponents p, e.g. 1.5,2,3.")
    var p: String?

    @Option(help: "Number of seeds (1...n), replacing the config's list.")
    var seeds: Int?

    @Option(help: "Training steps (8000 in the paper).")
    var steps: Int?

    @Option(help: "Output folder (default results/poly).")
    var out: String?

    func run() throws {
        do {
            var problem = PolyProblem()
            var ps = [1.5, 2, 3]
            var seedList = Array(1...10)
            var estimatorList = [EstimatorOptions(estimator: "st", values: ["temperature": .number(1)]),
                                 EstimatorOptions(estimator: "reinmax", values: ["temperature": .number(1)])]
            var output = "results/poly"
            let path = config ?? (FileManager.default.fileExists(atPath: "configs/poly.json") ? "configs/poly.json" : nil)
            if let path {
                guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
                let json = try JSON.parse(data)
                if case let .number(v)? = json.value(at: "problem.variables") { problem.variables = Int(v) }
                if case let .number(v)? = json.value(at: "problem.target") { problem.target = v }
                if case let .number(v)? = json.value(at: "problem.batch_size") { problem.batchSize = Int(v) }
                if case let .number(v)? = json.value(at: "problem.steps") { problem.steps = Int(v) }
                if case let .number(v)? = json.value(at: "problem.steps_per_epoch") { problem.stepsPerEpoch = Int(v) }
                if case let .number(v)? = json.value(at: "problem.learning_rate") { problem.learningRate = v }
                if case let .array(items)? = json["p"] { ps = items.compactMap { if case let .number(v) = $0 { v } else { nil } } }
                if case let .array(items)? = json["seeds"] { seedList = items.compactMap { if case let .number(v) = $0 { Int(v) } else { nil } } }
                if case let .string(s)? = json["output"] { output = s }
                if case let .array(items)? = json["estimators"] { estimatorList = try items.map(Self.estimatorOptions) }
            }
            if let estimators {
                // Keep the config's options for a listed name (e.g. reinmax at the toy's τ = 1), defaults otherwise.
                let configured = estimatorList
                estimatorList = estimators.split(separator: ",").map { name in
                    configured.first { $0.estimator == name } ?? EstimatorOptions(estimator: String(name))
                }
            }
            if let p { ps = try p.split(separator: ",").map { guard let v = Double($0) else { throw ValidationError("bad p '\($0)'") }; return v } }
            if let seeds { seedList = Array(1...max(seeds, 1)) }
            if let steps { problem.steps = steps }
            if let out { output = out }

            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            var runs: [PolyRun] = []
            for options in estimatorList {
                for exponent in ps {
                    var current = problem
                    current.p = exponent
                    let clock = Date()
                    var finals: [Double] = []
                    for seed in seedList {
                        let run = try Poly.run(current, estimator: options, seed: seed)
                        runs.append(run)
                        finals.append(run.finalLoss)
                    }
                    let mean = finals.reduce(0, +) / Double(finals.count)
                    print("\(Poly.label(options)) p=\(exponent): last-epoch loss \(String(format: "%.5f", mean)) over \(finals.count) seeds (optimum \(String(format: "%.5f", current.optimum)); \(String(format: "%.1f", Date().timeIntervalSince(clock))) s)")
                    // Rewrite the outputs after each cell so partial results survive an interruption.
                    try write(runs, problem: problem, to: output, seeds: seedList.count)
                }
            }
            print("wrote \(output)/curves.csv, table.csv, table.md")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }

    func write(_ runs: [PolyRun], problem: PolyProblem, to output: String, seeds: Int) throws {
        let rows = Poly.table(runs, problem: problem)
        try Poly.curvesCSV(runs, stepsPerEpoch: problem.stepsPerEpoch).write(toFile: "\(output)/curves.csv", atomically: true, encoding: .utf8)
        try Poly.tableCSV(rows).write(toFile: "\(output)/table.csv", atomically: true, encoding: .utf8)
        let header = """
            # Polynomial programming (ReinMax §5.2 protocol)

            \(problem.variables) binary variables, target \(problem.target), batch \(problem.batchSize), Adam lr \(problem.learningRate), \
            \(problem.steps) steps (\(problem.steps / problem.stepsPerEpoch) epochs × \(problem.stepsPerEpoch)), up to \(seeds) seeds.
            Entry: mean ± s.e. over seeds of the last epoch's average training loss; "exact" is E_q[loss] at the final θ.
            Command: `\(CommandLine.arguments.joined(separator: " "))`
            """
        try Poly.tableMarkdown(rows, header: header).write(toFile: "\(output)/table.md", atomically: true, encoding: .utf8)
    }

    static func estimatorOptions(_ json: JSON) throws -> EstimatorOptions {
        guard case let .object(object) = json, case let .string(name)? = object["name"] else {
            throw ValidationError("each estimator entry needs a \"name\"")
        }
        return try EstimatorOptions(name: name, json: object, path: "estimators[\(name)]")
    }
}
