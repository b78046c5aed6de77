import CZlib
import Foundation
import TestSupport
import Training
import XCTest

/// `vae-train picture`: a PNG that decodes (signature, IHDR size, IDAT inflating to every pixel row).
final class PictureTests: XCTestCase {
    func be32(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }

    /// The chunks of a PNG: (type, data), checking each CRC.
    func chunks(_ png: [UInt8]) throws -> [(String, [UInt8])] {
        XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var result: [(String, [UInt8])] = [], i = 8
        while i < png.count {
            let length = be32(png, i)
            let body = Array(png[(i + 4)..<(i + 8 + length)])
            let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
            XCTAssertEqual(crc, be32(png, i + 8 + length))
            result.append((String(decoding: body[0..<4], as: UTF8.self), Array(body[4...])))
            i += 12 + length
        }
        return result
    }

    func inflate(_ data: [UInt8], expected: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: expected + 16)
        var length = uLong(out.count)
        guard uncompress(&out, &length, data, uLong(data.count)) == Z_OK else { return nil }
        return Array(out[0..<Int(length)])
    }

    func testThePictureOfARunDecodes() throws {
        let dir = temporaryDirectory()
        var config = try ProgressTests.smallConfig()
        config.training.epochs = 1
        try Trainer(config: config, directory: dir, log: { _ in }).run()
        let result = try VAETrainBinary.run(["picture", "--run", dir], in: NSTemporaryDirectory())
        XCTAssertEqual(result.status, 0, result.err)
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/picture.png")))
        let parts = try chunks(png)
        XCTAssertEqual(parts.map(\.0), ["IHDR", "IDAT", "IEND"])
        let ihdr = parts[0].1
        let (width, height) = (be32(ihdr, 0), be32(ihdr, 4))
        XCTAssertEqual(width, ModelPicture.size.width)
        XCTAssertEqual(height, ModelPicture.size.height)
        XCTAssertEqual(Array(ihdr[8...]), [8, 0, 0, 0, 0], "8-bit greyscale")
        let raw = try XCTUnwrap(inflate(parts[1].1, expected: height * (width + 1)))
        XCTAssertEqual(raw.count, height * (width + 1), "one filter byte and \(width) pixels per row")
        // Not blank: the tiles hold dark and light pixels. Of the 242x182 = 44,044 pixels about 10,700 are
        // dark (< 64) and about 250 grey levels occur; a blank picture has no dark pixel and a thresholded
        // one two levels, so 1,000 (2%) and 50 separate them with a wide margin.
        let pixels = raw.enumerated().filter { $0.offset % (width + 1) != 0 }.map(\.element)
        XCTAssertGreaterThan(pixels.filter { $0 < 64 }.count, 1000)
        XCTAssertGreaterThan(Set(pixels).count, 50, "grey levels, not only black and white")
    }

    func testSmallPNGRoundTrip() throws {
        let png = try PNG.greyscale(width: 3, height: 2, pixels: [0, 128, 255, 1, 2, 3])
        let parts = try chunks(png)
        XCTAssertEqual(inflate(parts[1].1, expected: 8), [0, 0, 128, 255, 0, 1, 2, 3])
    }
}
