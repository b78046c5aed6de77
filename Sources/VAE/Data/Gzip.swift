import CZlib
import Foundation

/// Whole-file reading with transparent gunzip.
///
/// Data files are shipped either raw or gzip-compressed (the MNIST mirrors serve `.gz`, the
/// amat files are often stored compressed). Readers call `readFile` and never care which; the
/// decision is made on the gzip magic bytes, not on the file name, so a mis-named file still works.
public enum Gzip {
    /// True if `bytes` starts with the gzip magic number 1f 8b.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Reads the whole file; gunzips it if it starts with the gzip magic, else returns it raw.
    public static func readFile(atPath path: String) throws -> [UInt8] {
        let raw = try readRawFile(atPath: path)
        return hasMagic(raw) ? try decompress(raw, path: path) : raw
    }

    /// Reads a file's bytes without interpreting them. Uses stdio directly so a 50 MB file is
    /// read straight into one array (no `Data` bridging copy) and errors map to `DataError`.
    public static func readRawFile(atPath path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.fileNotFound(path: path)
        }
        if isDirectory.boolValue {
            throw DataError.unreadableFile(path: path, reason: "is a directory")
        }
        guard let file = fopen(path, "rb") else {
            throw DataError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        guard fseeko(file, 0, SEEK_END) == 0 else {
            throw DataError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(ftello(file))
        guard size >= 0, fseeko(file, 0, SEEK_SET) == 0 else {
            throw DataError.unreadableFile(path: path, reason: "cannot determine file size")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let got = bytes.withUnsafeMutableBytes { buf in
            size == 0 ? 0 : fread(buf.baseAddress!, 1, size, file)
        }
        if got != size {
            let reason = ferror(file) != 0 ? String(cString: strerror(errno)) : "short read (\(got) of \(size) bytes)"
            throw DataError.unreadableFile(path: path, reason: reason)
        }
        return bytes
    }

    /// Gunzips `bytes` (one or more concatenated gzip members, as `gzip`/`cat` produce).
    ///
    /// `path` is only used in error messages. zlib checks the CRC-32 and length trailer of every
    /// member, so a corrupted file is an error rather than silently wrong pixels. Bytes after the
    /// last member that are not another gzip member are rejected for the same reason.
    public static func decompress(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        guard hasMagic(bytes) else {
            throw DataError.corruptGzip(path: path, reason: "missing gzip magic 1f 8b")
        }
        var stream = z_stream()
        // 15 + 32: maximum window, and auto-detect the gzip (or zlib) header.
        var rc = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "inflateInit2 failed (\(rc))")
        }
        defer { inflateEnd(&stream) }

        // The gzip trailer stores the uncompressed size mod 2^32 (exact for single-member files
        // under 4 GiB): allocate that up front so the common case never grows the buffer. Cap it,
        // because a corrupt trailer must not make us allocate gigabytes.
        let n = bytes.count
        var capacity = 1 << 16
        if n >= 18 {  // smallest possible gzip member: 10-byte header, empty deflate block, 8-byte trailer
            let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
            let maxRatio = 1100  // deflate cannot exceed ~1032:1
            capacity = max(capacity, min(isize, n * maxRatio, 1 << 31) + 64)  // slack: finish in one call
        }
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0

        try bytes.withUnsafeBufferPointer { input in
            guard input.count <= Int(UInt32.max) else {
                throw DataError.corruptGzip(path: path, reason: "compressed file larger than 4 GiB is not supported")
            }
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == out.count {
                    out.append(contentsOf: repeatElement(0, count: out.count))
                }
                rc = out.withUnsafeMutableBufferPointer { ob -> Int32 in
                    let room = min(ob.count - produced, Int(UInt32.max))
                    stream.next_out = ob.baseAddress! + produced
                    stream.avail_out = uInt(room)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return r
                }
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let remaining = Int(stream.avail_in)
                    if remaining == 0 { return }
                    let offset = input.count - remaining
                    if remaining >= 2 && input[offset] == 0x1f && input[offset + 1] == 0x8b {
                        // Another gzip member follows: keep going, appending to the output.
                        guard inflateReset(&stream) == Z_OK else {
                            throw DataError.corruptGzip(path: path, reason: "inflateReset failed")
                        }
                        continue
                    }
                    throw DataError.corruptGzip(path: path, reason: "\(remaining) trailing bytes after the end of the gzip stream")
                case Z_BUF_ERROR:
                    // No progress possible: with input exhausted that means the stream is cut short;
                    // otherwise the output buffer was full and the loop grows it.
                    if stream.avail_in == 0 { throw DataError.truncatedGzip(path: path) }
                    continue
                case Z_NEED_DICT:
                    throw DataError.corruptGzip(path: path, reason: "stream requires a preset dictionary")
                case Z_MEM_ERROR:
                    throw DataError.unreadableFile(path: path, reason: "out of memory while decompressing")
                default:
                    let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                    throw DataError.corruptGzip(path: path, reason: msg)
                }
            }
        }
        out.removeLast(out.count - produced)
        return out
    }

    /// Gzip-compresses `bytes` with a zero mtime and no file name, so the same input always gives
    /// the same output. Used to write test fixtures and any derived data the project commits.
    public static func compress(_ bytes: [UInt8], level: Int32 = 9) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: maximum window, gzip wrapper. zlib writes mtime 0 and no name by default.
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed (\(rc))")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 64
        var out = [UInt8](repeating: 0, count: bound)
        var produced = 0
        // zlib wants a valid next_in even for empty input, so feed a dummy byte with avail_in 0.
        let source = bytes.isEmpty ? [0] : bytes
        source.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!)
            stream.avail_in = uInt(bytes.count)
            out.withUnsafeMutableBufferPointer { ob in
                stream.next_out = ob.baseAddress!
                stream.avail_out = uInt(ob.count)
                let r = deflate(&stream, Z_FINISH)
                precondition(r == Z_STREAM_END, "deflate did not finish (\(r))")
                produced = ob.count - Int(stream.avail_out)
            }
        }
        out.removeLast(out.count - produced)
        return out
    }
}
