import Synchronization
import Testing
import KilnCore

@Suite struct WorkerPoolTests {
    @Test(arguments: [1, 2, 4])
    func concurrentPerformCallsEveryIndexOnce(threads: Int) {
        let pool = WorkerPool(threads: threads)
        defer { pool.shutdown() }
        let seen = Mutex<[Int]>([])
        pool.concurrentPerform(iterations: 50) { index in seen.withLock { $0.append(index) } }
        #expect(seen.withLock { $0.sorted() } == Array(0..<50))
    }

    /// A job that waits for jobs it queued on the same pool, on every
    /// thread at once: with one thread the waits must run the jobs
    /// themselves, or this never returns.
    @Test(arguments: [1, 2])
    func jobsWaitingForJobsOnAFullPoolFinish(threads: Int) async {
        let pool = WorkerPool(threads: threads)
        defer { pool.shutdown() }
        let sums = await withTaskGroup(of: Int.self) { group in
            for outer in 0..<(threads * 2) {
                group.addTask {
                    await pool.run {
                        let total = Atomic<Int>(0)
                        let jobs = (1...10).map { inner in pool.submit { total.add(outer * inner, ordering: .relaxed) } }
                        for job in jobs { job.wait() }
                        pool.concurrentPerform(iterations: 3) { _ in total.add(1, ordering: .relaxed) }
                        return total.load(ordering: .relaxed)
                    }
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }.sorted()
        }
        #expect(sums == (0..<(threads * 2)).map { $0 * 55 + 3 })
    }

    @Test func runRethrowsTheJobsError() async {
        struct Failure: Error, Equatable {}
        let pool = WorkerPool(threads: 1)
        defer { pool.shutdown() }
        do {
            _ = try await pool.run { () throws(Failure) -> Int in throw Failure() }
            Issue.record("no error")
        } catch {
            #expect(error == Failure())
        }
    }

    @Test func waitReturnsAfterTheJobRanExactlyOnce() {
        let pool = WorkerPool(threads: 2)
        defer { pool.shutdown() }
        let runs = Atomic<Int>(0)
        let jobs = (0..<100).map { _ in pool.submit { runs.add(1, ordering: .relaxed) } }
        for job in jobs { job.wait() }
        #expect(jobs.allSatisfy { $0.isFinished })
        #expect(runs.load(ordering: .relaxed) == 100)
    }

    @Test func shutdownRunsWhatWasQueued() {
        let pool = WorkerPool(threads: 1)
        let runs = Atomic<Int>(0)
        for _ in 0..<20 { pool.submit { runs.add(1, ordering: .relaxed) } }
        pool.shutdown()
        #expect(runs.load(ordering: .relaxed) == 20)
    }
}
