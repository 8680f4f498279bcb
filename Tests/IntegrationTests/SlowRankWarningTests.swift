import Foundation
import TestSupport
import XCTest

/// A rank slowed on purpose: two busy loops pinned to the core of rank 1 (mpirun binds rank r to
/// core r) leave it about a third of its core, and the console says so at each evaluation.
final class SlowRankWarningTests: MPITestCase {
    func testARankSharingItsCoreIsReported() throws {
        let mpirun = try requireMPI()
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { throw XCTSkip("needs 2 cores") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else {
            throw XCTSkip("no taskset (util-linux) to pin the busy loops")
        }
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 60)
        let busy = (0..<2).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            p.arguments = ["-c", "1", "/bin/sh", "-c", "while :; do :; done"]
            try? p.run()
            return p
        }
        defer { busy.forEach { $0.terminate() } }
        let (status, text) = try run(
            mpirun,
            [
                "-np", "2", "--bind-to", "core", "--map-by", "core", Self.binary, "train", "--config", cfg,
                "--data-dir", Paths.sharedData, "--out", dir + "/out",
            ])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("warning: rank 1 computes at"), text)
        XCTAssertTrue(text.contains("of the speed of rank 0"), text)
        XCTAssertTrue(text.contains("Check `top`"), text)
    }
}
