// `vae-train toy`: the REBAR/RELAX Bernoulli toy (RELAX paper §6.1): minimise E[(b − t)²], t = 0.499.
// Writes curves.csv (θ, exact loss, gradient variance, η / log λ per logged step), summary.csv (first
// step with θ < 0.1, final θ) and relax_control_variate.csv (c_φ(z) over z at snapshots) to --out.
import ArgumentParser
import Foundation
import Experiments
import Training

struct ToyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toy",
        abstract: "Run the REBAR/RELAX Bernoulli toy for several estimators and seeds and write CSVs.")

    @Option(help: "Comma-separated estimator names (reinforce, rebar, relax use the paper's toy settings; others registry defaults).")
    var estimators = "reinforce,rebar,relax"

    @Option(help: "Training steps per run.")
    var steps = 10_000

    @Option(help: "Seeds 1...N.")
    var seeds = 5

    @Option(help: "The target t in (b − t)².")
    var target = 0.499

    @Option(help: "Adam learning rate (logit and estimator parameters).")
    var learningRate = 0.01

    @Option(help: "Log every this many steps.")
    var logEvery = 100

    @Option(help: "Draws per gradient-variance measurement (0 = off).")
    var varianceDraws = 100

    @Option(help: "Output folder.")
    var out = "results/toy"

    func run() throws {
        var settings = ToySettings()
        settings.steps = steps
        settings.target = target
        settings.learningRate = learningRate
        settings.logEvery = logEvery
        settings.varianceDraws = varianceDraws
        let names = estimators.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let command = "vae-train toy --estimators \(estimators) --steps \(steps) --seeds \(seeds) --target \(target) --learning-rate \(learningRate) --log-every \(logEvery) --variance-draws \(varianceDraws) --out \(out)"
        do {
            try Toy.runExperiment(estimators: names, seeds: max(seeds, 1), settings: settings, output: out, command: command, log: { print($0) })
        } catch {
            throw fail(error)
        }
    }
}
