// Where the test suites find the package's committed files, and scratch folders that clean up after
// themselves.
import Foundation
import XCTest

/// Paths into the package checkout the tests run from.
public enum TestPaths {
    /// The package root: three levels up from Tests/TestSupport/TestPaths.swift (`#filePath` is this
    /// file's path when it was compiled, so it is the checkout the test bundle was built from).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// An absolute path below the package root, e.g. `path("configs/quickstart.json")`.
    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The committed 10,000-image MNIST subset that every training test reads.
    public static var embeddedData: String { path("data/embedded") }
}

extension XCTestCase {
    /// A fresh path under the system temporary directory (dg-<test class>-<UUID>), removed when the test
    /// ends, passed or failed. Not created: most callers hand it to code that creates its own folder (a
    /// trainer, a sweep).
    public func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "dg-\(type(of: self))-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// `temporaryDirectory()`, created (empty).
    public func makeTemporaryDirectory() throws -> String {
        let path = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
