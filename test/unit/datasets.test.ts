import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DatasetError,
  loadIoJsonl,
  loadOpenCsv,
  loadOpenJsonl,
  loadSelfGuideTask,
  loadSelfGuideTaskDefinition,
  loadSemiEvolCsv,
  readJsonlLines,
} from '../../lib/datasets';
import { loadDataset } from '../../lib/methods/datasets';
import { loadConfiguredTask } from '../../lib/methods/selfguide-tasks';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-datasets-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function write(name: string, content: string): string {
  const file = path.join(dir, `${fileCount++}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}

/** CSV quoting of a JSON options list, as pandas writes it. */
const options = (...texts: string[]) => `"${JSON.stringify(texts).replace(/"/g, '""')}"`;
const abc = options('negative', 'neutral', 'positive');

function errorOf(load: () => unknown): DatasetError {
  try {
    load();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('loadSemiEvolCsv', () => {
  it('reads quoted fields with newlines and quotes, and numbers rows without an id column', () => {
    const file = write(
      'fpb.csv',
      [
        'question,gt,options,answer',
        `"Judge the sentiment:\nProfit rose, said ""the CEO"".",positive,${abc},C`,
        `plain question,neutral,${abc},B`,
      ].join('\n'),
    );
    expect(loadSemiEvolCsv(file)).toEqual({
      items: [
        {
          id: 'row-1',
          question: 'Judge the sentiment:\nProfit rose, said "the CEO".',
          options: ['negative', 'neutral', 'positive'],
          answer: 'C',
        },
        { id: 'row-2', question: 'plain question', options: ['negative', 'neutral', 'positive'], answer: 'B' },
      ],
      warnings: [],
    });
  });

  it('uses the id column and any column order', () => {
    const file = write('arc.csv', `id,question,answer,options\nMCAS_1,Which is a gas?,b,${options('ice', 'steam')}\n`);
    expect(loadSemiEvolCsv(file).items).toEqual([
      { id: 'MCAS_1', question: 'Which is a gas?', options: ['ice', 'steam'], answer: 'B' },
    ]);
  });

  it('keeps a quote inside an unquoted field literally', () => {
    const file = write(
      'quote.csv',
      `id,question,answer,options\nq1,A battery claims it "lasts twice as long." Which test?,A,${options('x', 'y')}\n`,
    );
    expect(loadSemiEvolCsv(file).items[0].question).toBe('A battery claims it "lasts twice as long." Which test?');
  });

  it('names the line where the record starts for bad JSON options', () => {
    const file = write(
      'bad-options.csv',
      ['question,gt,options,answer', `"two\nlines",neutral,${abc},B`, 'q,neutral,"[A, B]",A'].join('\n'),
    );
    const error = errorOf(() => loadSemiEvolCsv(file));
    expect(error.message).toBe(
      `${file} line 4: field "options" must be a JSON list of at least 2 (and at most 26) strings, got "[A, B]".`,
    );
    expect([error.file, error.line, error.field]).toEqual([file, 4, 'options']);
  });

  it('reads a bare NaN option as the text "nan", as the authors\' Python loader does, with a warning', () => {
    const nanOptions = '"[""a"", NaN, ""c""]"';
    const inString = options('NaN is not a number', 'b');
    const file = write(
      'nan.csv',
      `question,options,answer\nq1,${nanOptions},A\nq2,${inString},B\nq3,${nanOptions},C\n`,
    );
    const { items, warnings } = loadSemiEvolCsv(file);
    expect(items.map((item) => item.options)).toEqual([
      ['a', 'nan', 'c'],
      ['NaN is not a number', 'b'],
      ['a', 'nan', 'c'],
    ]);
    expect(warnings).toEqual([
      `${file}: 2 rows with a bare NaN among the options, read as the option text "nan" ` +
        '(first: ["a", NaN, "c"]; lines 2, 4).',
    ]);
  });

  it('quotes a NaN row in its warning as a short excerpt, with invisible characters escaped', () => {
    const longNan = `"[""\u202e${'long option '.repeat(8)}"", NaN]"`;
    const file = write('nan-long.csv', `question,options,answer\nq1,${longNan},A\n`);
    expect(loadSemiEvolCsv(file).warnings).toEqual([
      `${file}: 1 row with a bare NaN among the options, read as the option text "nan" ` +
        `(first: ["\\u202elong option long option long optio...; line 2).`,
    ]);
  });

  it('names every bad row: the first one in full, then how many more and their lines', () => {
    const rows = Array.from({ length: 14 }, (_, i) => (i % 2 === 0 ? `q${i},"[A, B]",A` : `q${i},${abc},A`));
    const file = write('many-bad.csv', ['question,options,answer', ...rows].join('\n'));
    const error = errorOf(() => loadSemiEvolCsv(file));
    expect(error.message).toBe(
      `${file} line 2: field "options" must be a JSON list of at least 2 (and at most 26) strings, got "[A, B]"; ` +
        '6 more rows are invalid (lines 4, 6, 8, 10, 12, 14).',
    );
    expect([error.line, error.field]).toEqual([2, 'options']);
  });

  it('rejects options that are not a list of at least two strings', () => {
    for (const bad of [options('only one'), '"[1, 2]"', '"{}"']) {
      const file = write('few-options.csv', `question,options,answer\nq,${bad},A\n`);
      expect(errorOf(() => loadSemiEvolCsv(file)).message).toMatch(
        /line 2: field "options" must be a JSON list of at least 2/,
      );
    }
  });

  it('names a missing column', () => {
    const file = write('missing.csv', `question,answer\nq,A\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toBe(
      `${file} line 1: field "options" is missing from the header, which has "question, answer".`,
    );
  });

  it('rejects an answer outside the options', () => {
    const file = write('bad-answer.csv', `question,options,answer\nq,${abc},E\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toBe(
      `${file} line 2: field "answer" must be an option letter A-C (or an option number 1-3), got "E".`,
    );
  });

  it('rejects a blank answer and a blank question', () => {
    expect(
      errorOf(() => loadSemiEvolCsv(write('blank-answer.csv', `question,options,answer\nq,${abc},\n`))).field,
    ).toBe('answer');
    expect(
      errorOf(() => loadSemiEvolCsv(write('blank-question.csv', `question,options,answer\n  ,${abc},A\n`))).message,
    ).toMatch(/line 2: field "question" must not be empty\.$/);
  });

  it('maps digit answers 1..N to letters and reports them in one warning', () => {
    const file = write('digits.csv', `id,question,answer,options\na,q,2,${abc}\nb,q,C,${abc}\nc,q,1,${abc}\n`);
    const { items, warnings } = loadSemiEvolCsv(file);
    expect(items.map((i) => i.answer)).toEqual(['B', 'C', 'A']);
    expect(warnings).toEqual([
      `${file}: 2 rows with the answer given as an option number, ` +
        'read as that option (1 → A) (first: "2" → B; lines 2, 4).',
    ]);
  });

  it('rejects a digit answer beyond the options', () => {
    const file = write('digit-out.csv', `id,question,answer,options\na,q,4,${abc}\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).field).toBe('answer');
  });

  it('reads answers as optional when asked to', () => {
    const noColumn = write('unlabeled.csv', `question,options\nq,${abc}\n`);
    expect(loadSemiEvolCsv(noColumn, { requireAnswer: false }).items[0].answer).toBeNull();
    const mixed = write('mixed.csv', `question,options,answer\nq1,${abc},\nq2,${abc},Z\nq3,${abc},A\n`);
    const { items, warnings } = loadSemiEvolCsv(mixed, { requireAnswer: false });
    expect(items.map((i) => i.answer)).toEqual([null, null, 'A']);
    expect(warnings).toEqual([
      `${mixed}: 1 row with an answer that is not an option letter, set to null (first: "Z"; line 3).`,
    ]);
  });

  it('repairs UTF-8 read as Windows-1252 or Latin-1', () => {
    const file = write(
      'latin1.csv',
      `question,options,answer\nThe cafÃ© itâ€™s in,${options('naÃ¯ve', 'plain')},A\nclean,${abc},B\n`,
    );
    const { items, warnings } = loadSemiEvolCsv(file);
    expect(items[0]).toMatchObject({ question: 'The café it’s in', options: ['naïve', 'plain'] });
    expect(warnings).toEqual([
      `${file}: 1 row with mojibake (UTF-8 read as Windows-1252/Latin-1), repaired (first: "Ã©" → "é"; line 2).`,
    ]);
  });

  it('repairs UTF-8 read as GBK', () => {
    const file = write(
      'gbk.csv',
      `question,options,answer\nThe incubator was set to 10掳C during El Ni帽o.,${options('10掳C', '30掳C')},A\n`,
    );
    const { items, warnings } = loadSemiEvolCsv(file);
    expect(items[0]).toMatchObject({
      question: 'The incubator was set to 10°C during El Niño.',
      options: ['10°C', '30°C'],
    });
    expect(warnings).toEqual([
      `${file}: 1 row with mojibake (UTF-8 read as GBK), repaired (first: "掳" → "°"; line 2).`,
    ]);
  });

  it('keeps and reports mojibake that cannot be repaired, and leaves clean accents alone', () => {
    const file = write(
      'lossy.csv',
      [
        'question,options,answer',
        `Lemmink+ñinen won the contract .,${abc},B`,
        `Saint-Étienne paid -£93 in the Galápagos at 5 °C; 東京 is Tokyo.,${abc},A`,
      ].join('\n'),
    );
    const { items, warnings } = loadSemiEvolCsv(file);
    expect(items.map((i) => i.question)).toEqual([
      'Lemmink+ñinen won the contract .',
      'Saint-Étienne paid -£93 in the Galápagos at 5 °C; 東京 is Tokyo.',
    ]);
    expect(warnings).toEqual([
      `${file}: 1 row with possible mojibake that cannot be repaired without loss, ` +
        'kept as is (first: "Lemmink+ñinen won"; line 2).',
    ]);
  });

  it('leaves Chinese text alone', () => {
    const question = '掳帽的东京问题是什么';
    const file = write('chinese.csv', `question,options,answer\n${question},${options('东京', '北京')},A\n`);
    expect(loadSemiEvolCsv(file)).toMatchObject({ items: [{ question }], warnings: [] });
  });

  it('counts lines correctly with CRLF, a BOM and blank lines', () => {
    const file = write('crlf.csv', `\uFEFFquestion,options,answer\r\n"multi\r\nline",${abc},A\r\n\r\nq,${abc},Q\r\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toMatch(/ line 5: field "answer"/);
  });

  it('reports a record with the wrong number of fields', () => {
    const file = write('fields.csv', `question,options,answer\nq,${abc}\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toBe(
      `${file} line 2: the record has 2 fields but the header has 3 columns.`,
    );
  });

  it('reports an unclosed quote at the line where its record starts', () => {
    const file = write('unclosed.csv', `question,options,answer\nq,${abc},A\n"never closed,x,A\nmore\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toMatch(/ line 3: the record is not valid CSV \(/);
  });

  it('rejects duplicate ids', () => {
    const file = write('dupes.csv', `id,question,answer,options\n7,q,A,${abc}\n7,q,B,${abc}\n`);
    expect(errorOf(() => loadSemiEvolCsv(file)).message).toBe(
      `${file} line 3: field "id" must be unique, got "7", already used on line 2.`,
    );
  });

  it('reports a missing or empty file', () => {
    expect(errorOf(() => loadSemiEvolCsv(path.join(dir, 'nope.csv'))).message).toMatch(
      /nope\.csv: cannot be read \(ENOENT\)\.$/,
    );
    expect(errorOf(() => loadSemiEvolCsv(write('empty.csv', ''))).line).toBe(1);
  });

  it('refuses a split with a header and no rows, naming the file', () => {
    const headerOnly = write('header-only.csv', 'question,options,answer\n\n');
    expect(errorOf(() => loadSemiEvolCsv(headerOnly)).message).toBe(
      `${headerOnly}: has a header but no data rows; a split needs at least one item.`,
    );
  });
});

describe('JSONL', () => {
  it('reads one value per line, skipping blank lines and keeping line numbers', () => {
    const file = write('io.jsonl', '{"input":"a","output":"b"}\n\n  \n{"input":"c","output":"d","extra":1}\r\n');
    expect(readJsonlLines(file).map((l) => l.line)).toEqual([1, 4]);
    expect(loadIoJsonl(file)).toEqual([
      { input: 'a', output: 'b' },
      { input: 'c', output: 'd' },
    ]);
  });

  it('names the line of invalid JSON', () => {
    const file = write('broken.jsonl', '{"input":"a","output":"b"}\n{"input": oops}\n');
    expect(errorOf(() => loadIoJsonl(file)).message).toBe(`${file} line 2: the line is not valid JSON.`);
  });

  it('names every bad line: the first one in full, then how many more and their lines', () => {
    const good = '{"input":"a","output":"b"}';
    const badJson = write('bad-json.jsonl', [good, '{"input": oops}', good, 'not json', '{'].join('\n'));
    expect(errorOf(() => loadIoJsonl(badJson)).message).toBe(
      `${badJson} line 2: the line is not valid JSON; 2 more lines are invalid (lines 4, 5).`,
    );
    const badFields = write('bad-fields.jsonl', [good, '{"input":"a"}', good, '{"input":"a","output":3}'].join('\n'));
    expect(errorOf(() => loadIoJsonl(badFields)).message).toBe(
      `${badFields} line 2: field "output" is missing (it must be a string); 1 more line is invalid (line 4).`,
    );
  });

  it('names the line and the field of a bad example', () => {
    const file = write('fields.jsonl', '{"input":"a","output":"b"}\n{"input":"a"}\n{"input":"a","output":3}\n');
    expect(errorOf(() => loadIoJsonl(file)).message).toBe(
      `${file} line 2: field "output" is missing (it must be a string); 1 more line is invalid (line 3).`,
    );
    const wrongType = write('type.jsonl', '{"input":"a","output":3}\n');
    expect(errorOf(() => loadIoJsonl(wrongType)).message).toBe(
      `${wrongType} line 1: field "output" must be a string, got 3.`,
    );
    const notObject = write('array.jsonl', '[1]\n');
    expect(errorOf(() => loadIoJsonl(notObject)).message).toBe(
      `${notObject} line 1: must be an object with string fields "input" and "output", got [1].`,
    );
  });
});

describe('open questions (no options)', () => {
  it('reads a CSV of question and answer, answers as written, ids from the id column or the row', () => {
    const file = write('open.csv', 'question,answer\nWhat was the revenue?,"$1,234.50"\nWhat was the margin?, 12% \n');
    expect(loadOpenCsv(file)).toEqual({
      items: [
        { id: 'row-1', question: 'What was the revenue?', options: [], answer: '$1,234.50' },
        { id: 'row-2', question: 'What was the margin?', options: [], answer: '12%' },
      ],
      warnings: [],
    });
    const withIds = write('open-ids.csv', 'id,question,answer\nn7,Who built it?,Gustave Eiffel\n');
    expect(loadOpenCsv(withIds).items).toEqual([
      { id: 'n7', question: 'Who built it?', options: [], answer: 'Gustave Eiffel' },
    ]);
  });

  it('reads a JSONL of {question, answer}, a JSON number answer as its text', () => {
    const file = write(
      'open.jsonl',
      '{"question":"What was the revenue?","answer":"1,234.5"}\n\n{"id":"x","question":"How many?","answer":42}\n',
    );
    expect(loadOpenJsonl(file).items).toEqual([
      { id: 'line-1', question: 'What was the revenue?', options: [], answer: '1,234.5' },
      { id: 'x', question: 'How many?', options: [], answer: '42' },
    ]);
  });

  it('leaves an unlabeled split without answers', () => {
    const csv = write('open-unlabeled.csv', 'question\nHow many?\n');
    expect(loadOpenCsv(csv, { requireAnswer: false }).items[0].answer).toBeNull();
    const jsonl = write('open-unlabeled.jsonl', '{"question":"How many?"}\n{"question":"Why?","answer":" "}\n');
    expect(loadOpenJsonl(jsonl, { requireAnswer: false }).items.map((i) => i.answer)).toEqual([null, null]);
  });

  it('names the file, line and field of a missing answer or question', () => {
    const csv = write('open-blank.csv', 'question,answer\nHow many?,3\nWhy?,  \n');
    expect(errorOf(() => loadOpenCsv(csv)).message).toBe(`${csv} line 3: field "answer" must not be empty.`);
    const jsonl = write('open-bad.jsonl', '{"question":"How many?","answer":"3"}\n{"answer":"4"}\n');
    expect(errorOf(() => loadOpenJsonl(jsonl)).message).toBe(
      `${jsonl} line 2: field "question" is missing (it must be a string).`,
    );
  });

  it('refuses options in an open split, naming the format for multiple-choice files', () => {
    const csv = write('open-options.csv', `question,options,answer\nq,${abc},A\n`);
    expect(errorOf(() => loadOpenCsv(csv)).message).toBe(
      `${csv} line 1: field "options" has no place in an open-question split; ` +
        'multiple-choice splits use the format "semievol-csv".',
    );
    const jsonl = write('open-options.jsonl', '{"question":"q","options":["a","b"],"answer":"A"}\n');
    expect(errorOf(() => loadOpenJsonl(jsonl)).message).toBe(
      `${jsonl} line 1: field "options" has no place in an open-question split; ` +
        'multiple-choice splits use the format "semievol-csv".',
    );
  });
});

describe('loadDataset', () => {
  it('refuses an empty JSONL split, naming the file', () => {
    const blank = write('blank.jsonl', '\n  \n');
    expect(errorOf(() => loadDataset({ format: 'io-jsonl', path: blank })).message).toBe(
      `${blank}: has no data lines; a split needs at least one item.`,
    );
  });
});

describe('reading files safely', () => {
  const question = 'question,options,answer\n';

  it('accepts only regular files: a device or a FIFO is refused before anything is read', () => {
    expect(errorOf(() => loadSemiEvolCsv('/dev/null')).message).toBe(
      '/dev/null: is a character device, not a regular file; a dataset must be a regular file.',
    );
    expect(errorOf(() => loadIoJsonl('/dev/zero')).message).toBe(
      '/dev/zero: is a character device, not a regular file; a dataset must be a regular file.',
    );
    const fifo = path.join(dir, 'split.fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer, so that a reader that (wrongly) reads the FIFO gets its content instead of waiting for ever.
    const writer = spawn('sh', ['-c', `printf '${question}q,"[""a"",""b""]",A\n' > "$0"`, fifo], { stdio: 'ignore' });
    try {
      expect(errorOf(() => loadSemiEvolCsv(fifo)).message).toBe(
        `${fifo}: is a FIFO, not a regular file; a dataset must be a regular file.`,
      );
    } finally {
      writer.kill();
    }
  });

  it('refuses a file over the per-file byte limit, before parsing it', () => {
    const file = write('big.csv', `${question}${`q,${abc},A\n`.repeat(10)}`);
    const size = fs.statSync(file).size;
    expect(errorOf(() => loadSemiEvolCsv(file, { limits: { maxBytes: 100 } })).message).toBe(
      `${file}: is ${size} bytes, more than the limit of 100 bytes for a dataset file (setting "maxBytes").`,
    );
    const jsonl = write('big.jsonl', '{"input":"a","output":"b"}\n'.repeat(10));
    expect(errorOf(() => loadDataset({ format: 'io-jsonl', path: jsonl, maxBytes: 20 })).message).toMatch(
      /: is 270 bytes, more than the limit of 20 bytes for a dataset file \(setting "maxBytes"\)\.$/,
    );
  });

  it('refuses an item over the per-item character limit, naming the line and the field', () => {
    const long = 'x'.repeat(60);
    const csv = write('long.csv', `${question}q,${abc},A\n${long},${abc},A\n`);
    expect(errorOf(() => loadSemiEvolCsv(csv, { limits: { maxItemChars: 50 } })).message).toBe(
      `${csv} line 3: field "question" is 60 characters long, more than the limit of 50 (setting "maxItemChars").`,
    );
    const longOption = write('long-option.csv', `${question}q,${options('a', long)},A\n`);
    expect(errorOf(() => loadSemiEvolCsv(longOption, { limits: { maxItemChars: 50 } })).field).toBe('options[1]');
    const jsonl = write('long.jsonl', `{"input":"a","output":"b"}\n{"input":"a","output":"${long}"}\n`);
    expect(errorOf(() => loadDataset({ format: 'io-jsonl', path: jsonl, maxItemChars: 50 })).message).toBe(
      `${jsonl} line 2: field "output" is 60 characters long, more than the limit of 50 (setting "maxItemChars").`,
    );
  });
});

describe('error messages never echo what a file that is not a dataset holds', () => {
  const secretLine = 'root:x:0:0:root:/root:/bin/bash';
  const secretFile = write('passwd', `${secretLine}\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n`);
  const linkTo = (target: string, name: string) => {
    const link = path.join(dir, `${fileCount++}-${name}`);
    fs.symlinkSync(target, link);
    return link;
  };

  it('refuses /proc/self/environ without printing the environment', () => {
    const environ = fs.readFileSync('/proc/self/environ', 'utf8');
    const message = errorOf(() => loadSemiEvolCsv('/proc/self/environ')).message;
    expect(message).toBe(
      '/proc/self/environ: is a pseudo-file whose size changes as it is read (such as one under /proc), ' +
        'not a regular file; a dataset must be a regular file.',
    );
    expect(message).not.toContain(environ.slice(0, 12));
  });

  it('names the expected header without quoting a first line that is not one', () => {
    const link = linkTo(secretFile, 'split.csv');
    const message = errorOf(() => loadSemiEvolCsv(link)).message;
    expect(message).toBe(
      `${link} line 1: the first line is not a header naming the "question", "options" and "answer" columns.`,
    );
    expect(message).not.toContain('root:x');
    const envFile = write('secrets.env', 'openai_api_key sk-abc123\nother_key xyz\n');
    const envMessage = errorOf(() => loadSemiEvolCsv(envFile)).message;
    expect(envMessage).toBe(
      `${envFile} line 1: the first line is not a header naming the "question", "options" and "answer" columns.`,
    );
  });

  it('quotes the header of a split back when it names one of the expected columns', () => {
    const typo = write('typo.csv', `question,option,answer\nq,${abc},A\n`);
    expect(errorOf(() => loadSemiEvolCsv(typo)).message).toBe(
      `${typo} line 1: field "options" is missing from the header, which has "question, option, answer".`,
    );
  });

  it("says only that JSON does not parse, without the parser's excerpt", () => {
    const taskPath = fs.mkdtempSync(path.join(dir, 'task-'));
    fs.symlinkSync(secretFile, path.join(taskPath, 'task.json'));
    const taskError = errorOf(() => loadSelfGuideTask(taskPath)).message;
    expect(taskError).toBe(`${path.join(taskPath, 'task.json')}: is not valid JSON.`);
    const jsonl = linkTo(secretFile, 'split.jsonl');
    expect(errorOf(() => loadIoJsonl(jsonl)).message).toBe(
      `${jsonl} line 1: the line is not valid JSON; 1 more line is invalid (line 2).`,
    );
  });

  it('quotes at most a short excerpt of a data row, with invisible characters escaped', () => {
    const answer = `\u202e${'SECRET'.repeat(20)}`;
    const file = write('long-answer.csv', `question,options,answer\nq,${abc},${answer}\n`);
    const message = errorOf(() => loadSemiEvolCsv(file)).message;
    expect(message).toBe(
      `${file} line 2: field "answer" must be an option letter A-C (or an option number 1-3), ` +
        `got "\\u202e${'SECRET'.repeat(6)}...".`,
    );
  });
});

describe('loadSelfGuideTask', () => {
  const task = {
    name: 'task999',
    kind: 'classification',
    metric: 'exact_match',
    instruction: 'Say yes or no.',
    examples: [{ input: 'Is it?', output: 'yes' }],
    labels: ['yes', 'no'],
    noise_terms: ['input'],
  };

  function taskDir(json: unknown): string {
    const taskPath = fs.mkdtempSync(path.join(dir, 'task-'));
    fs.writeFileSync(path.join(taskPath, 'task.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(taskPath, 'validation.jsonl'), '{"input":"v","output":"no"}\n');
    fs.writeFileSync(
      path.join(taskPath, 'test.jsonl'),
      '{"input":"t1","output":"yes"}\n{"input":"t2","output":"no"}\n',
    );
    return taskPath;
  }

  it('loads task.json with its test split, and never reads validation.jsonl, which a run does not use', () => {
    const dirWithoutValidation = taskDir(task);
    fs.rmSync(path.join(dirWithoutValidation, 'validation.jsonl'));
    const dirWithBadValidation = taskDir(task);
    fs.writeFileSync(path.join(dirWithBadValidation, 'validation.jsonl'), '{"input": 3}\n');
    for (const taskPath of [dirWithoutValidation, dirWithBadValidation])
      expect(loadSelfGuideTask(taskPath)).toEqual({
        ...task,
        test: [
          { input: 't1', output: 'yes' },
          { input: 't2', output: 'no' },
        ],
      });
  });

  it('reads validation.jsonl as the scored split when asked: the campaign scores its grid on it', () => {
    expect(loadSelfGuideTask(taskDir(task), {}, 'validation').test).toEqual([{ input: 'v', output: 'no' }]);
    const bad = taskDir(task);
    fs.writeFileSync(path.join(bad, 'validation.jsonl'), '{"input": 3}\n');
    expect(errorOf(() => loadSelfGuideTask(bad, {}, 'validation')).message).toContain('validation.jsonl');
  });

  it('loads only task.json for the filter command', () => {
    const onlyDefinition = taskDir(task);
    fs.rmSync(path.join(onlyDefinition, 'validation.jsonl'));
    fs.rmSync(path.join(onlyDefinition, 'test.jsonl'));
    expect(loadSelfGuideTaskDefinition(onlyDefinition)).toEqual(task);
  });

  it('loads task.json with its test split', () => {
    expect(loadSelfGuideTask(taskDir(task))).toEqual({
      ...task,
      test: [
        { input: 't1', output: 'yes' },
        { input: 't2', output: 'no' },
      ],
    });
  });

  it('reads null or absent labels and noise terms of a generation task as none', () => {
    const { labels, noise_terms, ...rest } = task;
    void noise_terms;
    const loaded = loadSelfGuideTask(taskDir({ ...rest, kind: 'generation', metric: 'rouge', labels: null }));
    expect([loaded.labels, loaded.noise_terms, labels.length]).toEqual([[], [], 2]);
  });

  it('names the file and the JSON path of a bad field', () => {
    const badOutput = taskDir({ ...task, examples: [{ input: 'x', output: 3 }] });
    expect(errorOf(() => loadSelfGuideTask(badOutput)).message).toBe(
      `${path.join(badOutput, 'task.json')}: field "examples[0].output" must be a string, got 3.`,
    );
    const badKind = taskDir({ ...task, kind: 'ranking' });
    expect(errorOf(() => loadSelfGuideTask(badKind)).message).toBe(
      `${path.join(badKind, 'task.json')}: field "kind" must be "classification" or "generation", got "ranking".`,
    );
  });

  it('refuses a task name that could not be part of a run id', () => {
    for (const name of ['task 999', 'task/999', '..', 'tâche'])
      expect(errorOf(() => loadSelfGuideTask(taskDir({ ...task, name }))).message).toMatch(
        /task\.json: field "name" must be 1 to 60 ASCII letters, digits, "_", "\." or "-", and not "\." or "\.\." \(it/,
      );
  });

  it('requires examples, and labels for a classification task', () => {
    expect(errorOf(() => loadSelfGuideTask(taskDir({ ...task, examples: [] }))).field).toBe('examples');
    const noLabels = errorOf(() => loadSelfGuideTask(taskDir({ ...task, labels: [] })));
    expect(noLabels.message).toMatch(
      /: field "labels" must list at least one label for a classification task, got \[\]\.$/,
    );
  });

  it('reports invalid JSON and a missing split file', () => {
    const broken = taskDir(task);
    fs.writeFileSync(path.join(broken, 'task.json'), '{"name": ');
    expect(errorOf(() => loadSelfGuideTask(broken)).message).toMatch(
      /task\.json: is not valid JSON \(it ends too early\)\.$/,
    );
    const noTest = taskDir(task);
    fs.rmSync(path.join(noTest, 'test.jsonl'));
    expect(errorOf(() => loadSelfGuideTask(noTest)).message).toMatch(/test\.jsonl: cannot be read \(ENOENT\)\.$/);
  });

  it("applies the task folder's configured limits to its test split and its task.json", () => {
    const taskPath = taskDir(task);
    const data = (limits: { maxBytes?: number; maxItemChars?: number }) =>
      loadConfiguredTask({ format: 'selfguide-task', path: taskPath, ...limits });
    const taskFile = path.join(taskPath, 'task.json');
    expect(errorOf(() => data({ maxItemChars: 5 })).message).toBe(
      `${taskFile}: field "examples[0].input" is 6 characters long, more than the limit of 5 (setting "maxItemChars").`,
    );
    const testFile = path.join(taskPath, 'test.jsonl');
    fs.writeFileSync(testFile, '{"input":"a long input","output":"no"}\n');
    expect(errorOf(() => data({ maxItemChars: 6 })).message).toBe(
      `${testFile} line 1: field "input" is 12 characters long, more than the limit of 6 (setting "maxItemChars").`,
    );
    const size = fs.statSync(taskFile).size;
    expect(errorOf(() => data({ maxBytes: 50 })).message).toBe(
      `${taskFile}: is ${size} bytes, more than the limit of 50 bytes for a dataset file (setting "maxBytes").`,
    );
  });

  it('refuses an empty test split', () => {
    const emptyTest = taskDir(task);
    fs.writeFileSync(path.join(emptyTest, 'test.jsonl'), '');
    expect(errorOf(() => loadSelfGuideTask(emptyTest)).message).toBe(
      `${path.join(emptyTest, 'test.jsonl')}: has no data lines; a split needs at least one item.`,
    );
  });
});

describe('the shared data files', () => {
  const root = path.resolve(__dirname, '../../../shared/data');
  const present = fs.existsSync(root);
  if (!present) {
    it.skip(`are not checked: ${root} is missing`, () => undefined);
    return;
  }

  // Row counts from shared/data/README.md.
  const expectedRows: Record<string, [number, number, number]> = {
    fpb: [452, 1359, 453],
    arc: [518, 1554, 518],
    pubmedqa: [200, 600, 200],
  };

  it.each(Object.keys(expectedRows))('all SemiEvol splits of %s load with the documented row counts', (task) => {
    const counts = ['labeled', 'unlabeled', 'test'].map((split) => {
      const { items, warnings } = loadSemiEvolCsv(path.join(root, 'semievol', task, `${split}.csv`));
      console.log(`semievol/${task}/${split}.csv: ${items.length} items${warnings.map((w) => `\n  ${w}`).join('')}`);
      expect(items.every((item) => item.answer !== null && item.options.length >= 2)).toBe(true);
      return items.length;
    });
    expect(counts).toEqual(expectedRows[task]);
  });

  it('all SELF-GUIDE tasks load', () => {
    const tasks = fs.readdirSync(path.join(root, 'selfguide')).filter((name) => /^task\d+$/.test(name));
    expect(tasks.length).toBeGreaterThan(0);
    const summary = tasks.map((name) => {
      const task = loadSelfGuideTask(path.join(root, 'selfguide', name));
      const sizes = `${task.examples.length} examples, ${task.test.length} test`;
      return `${name}: ${task.kind}/${task.metric}, ${sizes}`;
    });
    console.log(summary.join('\n'));
  });
});
