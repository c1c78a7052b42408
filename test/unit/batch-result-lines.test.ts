// Reading a batch's output and error lines: each item answered, or missing with a reason and whether to ask again.
import { BatchResultLines } from '../../activities/providers/batch/result-lines';

const unanswered = { retryable: true, reason: 'no line', status: null };
const line = (customId: unknown, response: unknown, error: unknown = null) =>
  JSON.stringify({ id: 'batch_req_1', custom_id: customId, response, error });
const outcomes = (lines: BatchResultLines, ids: string[]) => ids.map((id) => lines.outcome(id, unanswered));

test('each kind of line gives its item an answer or a reason, retryable as an online call would be', () => {
  const lines = new BatchResultLines();
  lines.read(line('ok', { status_code: 200, body: { object: 'chat.completion' } }), 'line 1');
  lines.read(line('refused', { status_code: 400, body: { error: { message: 'too long' } } }), 'line 2');
  lines.read(line('busy', { status_code: 429, body: { error: { message: 'slow down' } } }), 'line 3');
  lines.read(line('expired', null, { code: 'batch_expired', message: 'not run in time' }), 'line 4');
  lines.read(line('empty', { status_code: 200, body: null }), 'line 5');
  lines.read('{"id":"batch_req_9","custom_id":"cut","response":{"status_code":200,"bo', 'line 6 of the output file f');
  lines.read(line(7, { status_code: 200, body: {} }), 'line 7');
  lines.read('', 'line 8');
  expect(outcomes(lines, ['ok', 'refused', 'busy', 'expired', 'empty', 'cut', 'never'])).toEqual([
    { answer: { customId: 'ok', body: { object: 'chat.completion' } } },
    { missing: { customId: 'refused', retryable: false, reason: 'too long', status: 400 } },
    { missing: { customId: 'busy', retryable: true, reason: 'slow down', status: 429 } },
    { missing: { customId: 'expired', retryable: true, reason: 'not run in time (batch_expired)', status: null } },
    { missing: { customId: 'empty', retryable: true, reason: 'line 5 has status 200 but no answer', status: null } },
    {
      missing: {
        customId: 'cut',
        retryable: true,
        reason: 'line 6 of the output file f is not valid JSON',
        status: null,
      },
    },
    { missing: { customId: 'never', ...unanswered } },
  ]);
});

test('an answer wins over a failure of the same item, in either order', () => {
  const lines = new BatchResultLines();
  const answer = line('a', { status_code: 200, body: { n: 1 } });
  const failure = line('a', { status_code: 500, body: {} });
  lines.read(failure, 'line 1');
  lines.read(answer, 'line 2');
  lines.read(failure, 'line 3');
  expect(lines.outcome('a', unanswered)).toEqual({ answer: { customId: 'a', body: { n: 1 } } });
});
