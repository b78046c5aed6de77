import Foundation
import TestSupport
import Training
import XCTest

/// The one CSV writer (Training/CSV.swift): plain decimals, RFC 4180 quoting, and the formats the tool has
/// always written for metrics.csv and steps.csv.
final class CSVTests: XCTestCase {
    func testNumbersArePlainDecimalsWithTheirPlaces() {
        XCTAssertEqual(CSVValue.number(101.1234564, places: 6).field, "101.123456")
        XCTAssertEqual(CSVValue.number(1.25e-7, places: 12).field, "0.000000125000", "never exponent notation")
        XCTAssertEqual(CSVValue.number(3e9, places: 1).field, "3000000000.0")
        XCTAssertEqual(CSVValue.number(.nan, places: 3).field, "nan")
        XCTAssertEqual(CSVValue.number(.infinity, places: 3).field, "inf")
        XCTAssertEqual(CSVValue.number(-.infinity, places: 3).field, "-inf")
        XCTAssertEqual(CSVValue.number(nil, places: 3).field, "")
        XCTAssertEqual(CSVValue.integer(-4).field, "-4")
    }

    func testTextIsQuotedOnlyWhenItMustBe() {
        XCTAssertEqual(CSVValue.text("reinmax").field, "reinmax")
        XCTAssertEqual(CSVValue.text("reinmax(temperature=1.0,samples=8)").field, "\"reinmax(temperature=1.0,samples=8)\"")
        XCTAssertEqual(CSVValue.text("say \"hi\"").field, "\"say \"\"hi\"\"\"")
    }

    func testATableIsAHeaderAndOneLinePerRow() throws {
        var table = CSVTable(columns: ["a", "b"])
        table.append([.integer(1), .text("x,y")])
        table.append([.missing, .number(0.5, places: 2)])
        XCTAssertEqual(table.text, "a,b\n1,\"x,y\"\n,0.50\n")
        let path = temporaryDirectory() + "/table.csv"
        try table.write(to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), table.text)
    }

    /// metrics.csv and steps.csv rows keep the exact text they had before the shared writer.
    func testMetricsAndStepRowsKeepTheirFormat() {
        let row = EpochMetrics(epoch: 3, step: 1800, trainLoss: 101.5, trainReconstruction: 95.25, trainKL: 6.25, evalLoss: 102,
                               evalReconstruction: nil, evalKL: .nan, evalIWAE: nil, gradientVariance: 0.000123456789,
                               examplesPerSecond: 18538.84, epochSeconds: 3.3571, elapsedSeconds: 538.04)
        XCTAssertEqual(row.csvRow, "3,1800,101.500000,95.250000,6.250000,102.000000,,nan,,0.00012346,18538.8,3.357,538.040")
        let step = StepRow(step: 50, epoch: 1, trainLoss: 200.1, reconstruction: 190.05, kl: 10.05, elapsedSeconds: 1.5)
        XCTAssertEqual(step.csvRow, "50,1,200.100000,190.050000,10.050000,1.500")
    }
}
