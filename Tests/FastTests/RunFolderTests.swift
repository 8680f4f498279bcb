import Foundation
import SMTLData
import SMTLTraining
import TestSupport
import XCTest

/// The run folder's layout and `--resume auto`'s choice, on checkpoints a real run wrote.
final class RunFolderTests: XCTestCase {
    func testLayoutAndNewestUsableCheckpoint() throws {
        let dir = Paths.temporaryDirectory()
        var c = Fixture.twoTasks(dir)
        c.steps = 6
        c.evalEvery = 3
        c.checkpointEvery = 2
        c.keepCheckpoints = 2
        let folder = RunFolder(dir + "/out")
        let t = try Trainer(config: c, corpus: try Corpus.load(c), outDir: folder.path, resume: nil)
        try t.run(observers: [])
        XCTAssertEqual(folder.final, dir + "/out/checkpoints/final")
        XCTAssertEqual(folder.fineTune(task: "a").final, dir + "/out/fine-tune/a/checkpoints/final")
        XCTAssertTrue(folder.finished)
        // Two kept of three, oldest first, named so that names sort in step order.
        XCTAssertEqual(
            folder.stepCheckpoints.map { ($0 as NSString).lastPathComponent }, ["step-00000004", "step-00000006"])
        XCTAssertEqual(RunFolder.stepName(123), "step-00000123")
        // final (step 6) ties with step-6: the step checkpoint wins the tie.
        XCTAssertEqual(try folder.newestUsableCheckpoint().directory, folder.checkpoint("step-00000006"))
        // A damaged newest checkpoint is skipped with its reason; the next one is taken.
        try Data("not safetensors".utf8).write(
            to: URL(fileURLWithPath: folder.checkpoint("step-00000006/model.safetensors")))
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: folder.final + "/model.safetensors"))
        var skipped: [String] = []
        let loaded = try folder.newestUsableCheckpoint { d, _ in skipped.append((d as NSString).lastPathComponent) }
        XCTAssertEqual(loaded.state.step, 4)
        XCTAssertEqual(skipped.sorted(), ["final", "step-00000006"])
        // A step folder left half-written is stale; with nothing usable, the error names the folder.
        try FileManager.default.removeItem(atPath: folder.checkpoint("step-00000004/state.json"))
        XCTAssertEqual(folder.removeStale(), [folder.checkpoint("step-00000004")])
        do {
            _ = try folder.newestUsableCheckpoint()
            XCTFail("nothing usable is left")
        } catch let e as InputError {
            XCTAssertTrue("\(e)".contains(folder.checkpoints), "\(e)")
            XCTAssertTrue("\(e)".contains("--resume auto: no step checkpoint here can be used"), "\(e)")
        }
    }
}
