// What a run records about the software it ran on, so a CSV can be traced back to its build.
import Autodiff
import Foundation

public enum BuildInfo {
    public static let version = "0.1.0"

    /// The git commit of the working tree, or "unknown" outside a checkout.
    public static var gitCommit: String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch { return "unknown" }
        guard process.terminationStatus == 0 else { return "unknown" }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static var blas: String { BLASInfo.description }
}
