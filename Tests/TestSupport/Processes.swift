// Running programs from the tests: the built `vae-train` as a user would, and scripts.
import Foundation
import VAE
import XCTest

/// Runs the built `vae-train` (swift test builds it next to the test bundle) as a user would.
public enum VAETrainBinary {
    public static var url: URL? {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        candidates.append(TestPaths.root.appendingPathComponent(".build/release"))
        return candidates.map { $0.appendingPathComponent("vae-train") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Exit status, stdout and stderr of `vae-train arguments` run in `directory`, without DISCRETEGRAD_DATA.
    public static func run(_ arguments: [String], in directory: String) throws -> (status: Int32, out: String, err: String) {
        guard let url else { throw XCTSkip("vae-train is not built") }
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment[DatasetLoader.environmentVariable] = nil
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs, so neither can fill up and block it. The reader thread
        // is the only writer of `errData`, and it is read only after that thread has finished.
        final class Box: @unchecked Sendable { var data = Data() }
        let errData = Box()
        let reader = Thread { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }
}

/// Exit status and combined stdout + stderr of a program run to completion (scripts, python3).
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
