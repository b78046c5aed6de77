// `vae-train export`: a run's parameters as an .npz that numpy.load reads (see Training/Export.swift).
import ArgumentParser
import Foundation
import Training

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's model parameters (from its checkpoint.bin) as an uncompressed .npz with named arrays.")

    @Option(name: .customLong("run"), help: "Run folder holding checkpoint.bin (e.g. runs/quickstart/run).")
    var runDirectory: String

    @Option(help: "Output file (default: <run>/parameters.npz).")
    var out: String?

    func run() throws {
        do {
            let result = try RunExport.exportParameters(run: runDirectory, to: out)
            for (name, shape) in result.arrays { print("\(name)  \(shape.map(String.init).joined(separator: "x"))") }
            print("wrote \(result.path)")
        } catch {
            throw fail(error)
        }
    }
}
