// `vae-train picture`: test inputs beside their reconstructions and samples from the prior, as a PNG
// (see Training/Picture.swift).
import ArgumentParser
import Foundation
import Training

struct PictureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "picture",
        abstract: "Write a PNG of a run's model: test inputs above their reconstructions, then samples from the prior.")

    @Option(name: .customLong("run"), help: "Run folder holding checkpoint.bin (e.g. runs/quickstart/run).")
    var runDirectory: String

    @Option(help: "Output file (default: <run>/picture.png).")
    var out: String?

    @Option(help: "Seed of the draws from q(z|x) and from the prior.")
    var seed: UInt64 = 1

    func run() throws {
        do {
            print("wrote \(try ModelPicture.write(run: runDirectory, to: out, seed: seed))")
        } catch {
            throw fail(error)
        }
    }
}
