/*
 * journal_fixture: the names in tests/fixtures/journal/2026-11-25.jsonl, the recorded day the
 * replay reader's and the inspector's tests read: its path, its sessions and its requests.
 */
#ifndef CP_JOURNAL_FIXTURE_H
#define CP_JOURNAL_FIXTURE_H

#define DAY FIXTURES_DIR "/journal/2026-11-25.jsonl"

#define SA "d94bd562-04da-46a4-8e94-685c787c5bf0" /* A1-A4 */
#define SB "conn-3"                               /* B1, B2 */
#define SC "7f3e0c11-9a2b-4c55-8d10-2b7c1e6f0a99" /* C1 */

#define A1 "req_A1streamedToolUse000001"  /* streamed, a Write tool call */
#define A2 "req_A2retried000000000000001" /* retried once */
#define A3 "req_A3countTokens0000000001"  /* count_tokens */
#define A4 "req_A4cutShort000000000001"   /* no end record */
#define B1 "req_B1rateLimited0000000001"  /* 429 */
#define B2 "req_B2badRequest0000000001"   /* 400 */
#define C1 "req_C1replayOfA1000000000001" /* a re-send of A1, direct */

#endif
