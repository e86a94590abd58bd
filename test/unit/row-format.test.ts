import { expect, test } from 'vitest';
import { csvField, formatHeader, formatRows } from '../../src/scan-client/row-format.js';

test('csv fields are quoted only when RFC 4180 needs it', () => {
  expect(csvField('plain')).toBe('plain');
  expect(csvField('a,b')).toBe('"a,b"');
  expect(csvField('say "hi"')).toBe('"say ""hi"""');
  expect(csvField('two\nlines')).toBe('"two\nlines"');
  expect(csvField('cr\r')).toBe('"cr\r"');
  expect(csvField(null)).toBe('');
  expect(csvField(12.5)).toBe('12.5');
  expect(csvField(true)).toBe('true');
  expect(csvField({ a: [1, 'x'] })).toBe('"{""a"":[1,""x""]}"');
});

test('csv has a header; ndjson has one object per row', () => {
  expect(formatHeader('csv', ['id', 'a,b'])).toBe('id,"a,b"\r\n');
  expect(formatHeader('ndjson', ['id'])).toBe('');
  expect(
    formatRows(
      'csv',
      ['id', 'name'],
      [
        [1, 'x'],
        ['9007199254740993', null],
      ],
    ),
  ).toBe('1,x\r\n9007199254740993,\r\n');
  expect(
    formatRows(
      'ndjson',
      ['id', 'name'],
      [
        [1, 'x'],
        [2, null],
      ],
    ),
  ).toBe('{"id":1,"name":"x"}\n{"id":2,"name":null}\n');
});
