// The leak check: the graph's live-node counter must return to where it started.
import Autodiff
import XCTest

/// Asserts that `liveVariables` (Sources/Autodiff/Variable.swift) is back where it started after `body`.
/// XCTest runs the tests of one process serially, so no other test creates Variables meanwhile; the
/// measurement is still retried (up to `attempts` times, passing on the first zero delta) so a stray
/// concurrent allocation, or a cache a first call fills once, cannot make it flaky. A leak of every
/// call fails every attempt.
public func assertNoLeak(_ label: String, attempts: Int = 3, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) rethrows {
    var deltas: [Int] = []
    for _ in 0..<attempts {
        let before = liveVariables
        try body()
        deltas.append(liveVariables - before)
        if deltas.last == 0 { return }
    }
    XCTFail("\(label): live Variables did not return to the start (deltas \(deltas))", file: file, line: line)
}
