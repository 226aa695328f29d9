import Crypto
import Foundation
import Hummingbird
import Privacy
import Storage

/// Session replay over HTTP: `POST /api/replay` (chunks from the recorder), the
/// recorder's settings, the magic-erasure picker's calls, and the recordings API.
public struct ReplayController: Sendable {
    let catalog: SiteCatalog
    /// Chunk sizes, event counts, scrub budget and per-recording caps.
    let limits: IngestLimits
    /// A recording attaches to the visit live within this long (the writer's session timeout).
    let sessionTimeoutMillis: Int64
    let database: VeilDatabase
    let auth: DashboardAuth
    let gate: IngestGate
    let counters: IngestCounters
    let clock: TimeSource
    let secret: [UInt8]
    let random: @Sendable (Int) -> [UInt8]

    static let maxDepth = 400

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("replay", use: receive)
        routes.get("replay/settings", use: settings)
        routes.get("replay/pick", use: picked)
        routes.post("replay/pick", use: pick)
        routes.post("replay/pick/session", use: openPicker)
        gate.ingestRoute(routes, "replay", allowMethods: "GET, POST", allowHeaders: "Content-Type, Authorization")
        for path in ["replay/pick", "replay/pick/session"] {
            routes.on(RouterPath(path), method: .options, use: gate.preflight(allowMethods: "GET, POST", allowHeaders: "Content-Type, Authorization"))
        }
        routes.get("recordings", use: list)
        routes.get("recordings/:id/events", use: events)
        routes.delete("recordings/:id", use: delete)
        routes.onlyAllow("recordings", [.get])
        routes.onlyAllow("recordings/:id/events", [.get])
        routes.onlyAllow("recordings/:id", [.delete])
        return routes
    }

    // MARK: Ingest

    @Sendable func receive(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.replayBodyBytes) { body in
            try await receive(body, request: request, context: context)
        }
    }

    private func receive(_ body: [UInt8], request: Request, context: VeilRequestContext) async throws -> Response {
        let chunk = try await parse(body)
        let ctx = gate.ingestContext(request, context)
        let headers = gate.cors(request, site: chunk.site)
        let pipeline = try await gate.pipeline(context)
        let site: SiteRules, visitors: [[UInt8]]
        switch pipeline.admit(RawEvent(site: chunk.site, name: "$replay", url: "", visitorID: chunk.visitorID), context: ctx) {
        case .success(let admitted): (site, visitors) = admitted
        case .failure(let reason):
            await counters.recordDrop(reason, site: chunk.site)
            return .json(status: .accepted, "{\"accepted\":0,\"dropped\":\(chunk.events.count),\"reason\":\"\(reason.rawValue)\"}", headers: headers)
        }
        let domain = site.key
        let picked = try await database.pickedSelectors(site: domain)
        let (stored, report) = ReplayChunk.prepared(chunk.events, site: site, page: chunk.page, seq: chunk.seq, picked: picked, visitors: visitors, receivedAt: ctx.receivedAt, rawBytes: body.count,
                                              scrubBytes: limits.scrubBytes)
        await counters.recordScrubbed(report.scrubbed, site: domain)
        let outcome: ReplayAppendOutcome
        do {
            outcome = try await database.appendReplayChunk(stored, sessionTimeoutMillis: sessionTimeoutMillis, caps: ReplayCaps(limits))
        } catch {
            context.logger.error("replay chunk write failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        switch outcome {
        case .duplicate: await counters.recordDrop(.duplicate, site: domain)
        case .stored(_, let bytes): await counters.recordReplayChunk(site: domain, receivedBytes: body.count, storedBytes: bytes)
        case .capped(let id, let cap):
            await counters.recordDrop(.recordingCapped, site: domain)
            if cap != .earlier { context.logger.notice("recording capped", metadata: ["site": "\(domain)", "recording": "\(id)", "cap": "\(cap.rawValue)"]) }
            // 202: the request was fine; the body tells the recorder to stop sending.
            return .json(status: .accepted, "{\"accepted\":0,\"dropped\":\(chunk.events.count),\"stop\":\"recording_capped\",\"detail\":"
                         + JSONWriter.string("this recording reached its limit (\(cap.rawValue)); it is kept as it is and no longer grows") + "}", headers: headers)
        }
        return .json(status: .accepted, "{\"accepted\":\(stored.events),\"dropped\":\(chunk.events.count - stored.events)}", headers: headers)
    }

    public struct Chunk: Sendable {
        public init(site: String, page: String, seq: Int, visitorID: String? = nil, events: [JSONValue]) {
            self.site = site
            self.page = page
            self.seq = seq
            self.visitorID = visitorID
            self.events = events
        }
        var site: String
        var page: String
        var seq: Int
        var visitorID: String?
        var events: [JSONValue]
    }

    /// Validates the envelope `{site, page, seq, events, vid?}`; each failure names its field.
    func parse(_ body: [UInt8]) async throws -> Chunk {
        func bad(_ code: IngestRejection.Code, _ detail: String) async -> APIError { await gate.reject(IngestRejection(code, detail)) }
        let root = try await gate.parseJSON(body, maxDepth: Self.maxDepth)
        guard case .object = root else { throw await bad(.invalidJSON, "expected a JSON object {site, page, seq, events}") }
        guard let site = root["site"]?.stringValue, !site.isEmpty, site.utf8.count <= 253 else { throw await bad(.missingField, "site is required (the data-site of the tag)") }
        guard let page = root["page"]?.stringValue, (8...64).contains(page.utf8.count),
              page.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }) else {
            throw await bad(.invalidField, "page must be 8 to 64 letters, digits, - or _ (a random ID per page load)")
        }
        guard let seq = root["seq"]?.intValue, (0...1_000_000).contains(seq) else { throw await bad(.invalidField, "seq must be a chunk number from 0 to 1000000") }
        guard case .array(let events) = root["events"] ?? .null else { throw await bad(.missingField, "events must be an array of rrweb events") }
        guard events.count <= limits.replayEvents else {
            throw await bad(.tooManyEvents, "\(events.count) events in one chunk; the limit is \(limits.replayEvents)")
        }
        for (i, event) in events.enumerated() {
            guard event["type"]?.intValue != nil, event["timestamp"]?.intValue != nil else {
                throw await bad(.invalidField, "events[\(i)] must be an rrweb event {type, data, timestamp}")
            }
        }
        let vid = root["vid"]?.stringValue.flatMap { $0.isEmpty || $0.utf8.count > 128 ? nil : $0 }
        return Chunk(site: site, page: page, seq: seq, visitorID: vid, events: events)
    }

    /// What the recorder needs before it records: masking mode and selectors (the
    /// config's plus those picked in the dashboard). Public: it holds no secrets.
    @Sendable func settings(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let domain = SitePagesController.query(request)["site"] ?? ""
        guard let site = catalog.site(domain), site.replay.enabled else {
            throw APIError(.notFound, "replay_disabled", "session replay is not enabled for this site", headers: gate.cors(request, site: nil))
        }
        let picked = try await database.pickedSelectors(site: site.key)
        let r = site.replay
        var headers = gate.cors(request, site: site.domain)
        headers[.cacheControl] = "max-age=60"
        return try .json(RecorderSettingsAnswer(maskText: r.maskText.rawValue, erase: r.eraseSelectors + picked, block: r.blockSelectors), headers: headers)
    }

    // MARK: Magic erasure picker

    private func bearer(_ request: Request) throws -> String {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.utf8.count < 300 else {
            throw APIError(.unauthorized, "unauthorized", "send the picker's token as Authorization: Bearer <token>")
        }
        return String(header.dropFirst(7))
    }

    /// Exchanges the one-time link from the URL fragment for a picker session key.
    @Sendable func openPicker(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let token = try bearer(request)
        let now = clock.nowMillis()
        guard let link = try await database.redeemPickerLink(tokenHash: Array(SHA256.hash(data: Array(token.utf8))), nowMillis: now),
              PickerLink.verify(token, site: link.site, nowMillis: now, secret: secret) else {
            throw APIError(.unauthorized, "unauthorized", "this picker link was already used, has expired or is not Veil's; start the picker again from the dashboard")
        }
        let key = Data(random(24)).base64URLEncoded
        try await database.createPickerSession(site: link.site, keyHash: Array(SHA256.hash(data: Array(key.utf8))), expiresAt: link.expiresAt)
        context.logger.notice("magic erasure picker opened", metadata: ["site": "\(link.site)"])
        return try .json(PickerSessionAnswer(session: key, expiresAt: link.expiresAt), headers: gate.cors(request, site: link.site))
    }

    private func pickerSite(_ request: Request) async throws -> String {
        let key = try bearer(request)
        guard let site = try await database.pickerSessionSite(keyHash: Array(SHA256.hash(data: Array(key.utf8))), nowMillis: clock.nowMillis()) else {
            throw APIError(.unauthorized, "unauthorized", "the picker session is unknown or expired; start the picker again from the dashboard")
        }
        return site
    }

    private func selectors(_ site: String, erased: Bool? = nil) async throws -> SelectorsAnswer {
        SelectorsAnswer(configured: catalog.site(site)?.replay.eraseSelectors ?? [], picked: try await database.pickedSelectors(site: site), erased: erased)
    }

    @Sendable func picked(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let site = try await pickerSite(request)
        return try .json(try await selectors(site), headers: gate.cors(request, site: site))
    }

    @Sendable func pick(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let site = try await pickerSite(request)
        let body = try await request.body.collect(upTo: 4096)
        let root: JSONValue
        do { root = try JSONParser.parse(Array(body.readableBytesView)) } catch { throw APIError.json(error, expected: "{\"selector\": …}") }
        guard let selector = root["selector"]?.stringValue,
              !selector.isEmpty, selector.utf8.count <= 300, !selector.contains(where: { "{}<".contains($0) }) else {
            throw APIError(.badRequest, "invalid_selector", "send {\"selector\": \"<a CSS selector>\"} (at most 300 characters)")
        }
        let now = try await database.togglePickedSelector(site: site, selector: selector, nowMillis: clock.nowMillis())
        context.logger.notice("magic erasure selector toggled", metadata: ["site": "\(site)", "selector": "\(selector)", "erased": "\(now)"])
        return try .json(try await selectors(site, erased: now), headers: gate.cors(request, site: site))
    }

    // MARK: Recordings API

    private func recordingID(_ context: VeilRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else { throw APIError(.badRequest, "invalid_id", "the recording ID is a positive number") }
        return id
    }

    @Sendable func list(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let q = SitePagesController.query(request)
        guard let domain = q["site"], let site = catalog.site(domain) else {
            try await auth.requireAPIAccess(request)
            throw APIError(.badRequest, "missing_site", "site is required and must be a configured site")
        }
        try await auth.requireAPIAccess(request, site: site.key)
        let filter = try RecordingQuery.filter(q, now: clock.nowMillis())
        let rows = try await database.recordings(site: site.key, filter: filter, rules: site.analytics)
        return try .json(RecordingsAnswer(recordings: rows.map(RecordingsAnswer.Recording.init)))
    }

    @Sendable func events(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccess(request)
        let id = try recordingID(context)
        guard let recording = try await database.recording(id: id) else { throw APIError(.notFound, "not_found", "there is no recording \(id)") }
        try await auth.requireAPIAccess(request, site: recording.site)
        // Streamed a few chunks at a time: a long recording never sits whole in memory.
        let database = database, logger = context.logger
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson; charset=utf-8", .cacheControl: "private, no-store"],
                        body: ResponseBody { writer in
                            do {
                                try await database.streamRecordingEvents(id: id) { lines in
                                    var buffer = ByteBuffer()
                                    for line in lines { buffer.writeString(line); buffer.writeInteger(UInt8(ascii: "\n")) }
                                    try await writer.write(buffer)
                                }
                            } catch {
                                // The status is sent already; ending early is all that is left.
                                logger.error("recording stream failed", metadata: ["recording": "\(id)", "error": "\(error)"])
                                throw error
                            }
                            try await writer.finish(nil)
                        })
    }

    @Sendable func delete(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccessForChange(request, admin: true)
        let id = try recordingID(context)
        guard try await database.deleteRecording(id: id) else { throw APIError(.notFound, "not_found", "there is no recording \(id)") }
        context.logger.notice("recording deleted", metadata: ["id": "\(id)"])
        return try .json(DeletedAnswer(deleted: id))
    }
}

/// Query parameters of the recordings list (API and page share them).
enum RecordingQuery {
    static func filter(_ q: [String: String], now: Int64) throws -> RecordingFilter {
        let days = Int64(q["days"].flatMap(Int.init) ?? 30)
        guard (1...3650).contains(days) else { throw APIError(.badRequest, "invalid_days", "days must be 1 to 3650") }
        // No upper bound: start times come from the visitor's clock, which may run ahead.
        var filter = RecordingFilter(from: now - days * DayCalendar.millisPerDay, to: .max)
        if let p = q["page"], !p.isEmpty { filter.path = p }
        if let d = q["device"], !d.isEmpty { filter.device = d }
        if let e = q["event"], !e.isEmpty { filter.event = e }
        if let g = q["goal"], !g.isEmpty { filter.goal = g }
        if let g = q["without_goal"], !g.isEmpty { filter.withoutGoal = g }
        if let s = q["session"], !s.isEmpty {
            guard let id = Int64(s) else { throw APIError(.badRequest, "invalid_session", "session must be a session ID") }
            filter.sessionID = id
        }
        if let m = q["min_seconds"], !m.isEmpty {
            guard let n = Int64(m), n >= 0 else { throw APIError(.badRequest, "invalid_min_seconds", "min_seconds must be a whole number of seconds") }
            filter.minDurationMillis = n * 1000
        }
        filter.rageClicksOnly = q["rage"] == "1"
        if let l = q["limit"] {
            guard let n = Int(l), (1...1000).contains(n) else { throw APIError(.badRequest, "invalid_limit", "limit must be 1 to 1000") }
            filter.limit = n
        }
        if let o = q["offset"] {
            guard let n = Int(o), n >= 0 else { throw APIError(.badRequest, "invalid_offset", "offset must be 0 or more") }
            filter.offset = n
        }
        return filter
    }
}
