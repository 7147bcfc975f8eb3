// Unit tests for the command parser and name completion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parse, complete } from "../static/js/commands.js";
import { limits, nickProblem } from "../static/js/protocol.js";

const older = limits({ max_message_length: 1000 });
const newer = limits({ max_message_length: 1000, nick_max_length: 25, nick_hold: 600, nick_rule: "A nickname is 1 to 25 letters or digits, with -, _ or . inside." });

test("lines become sends, commands or mistakes", () => {
  const cases = [
    ["", { do: "nothing" }],
    ["   \n ", { do: "nothing" }],
    ["hello", { do: "send", text: "hello" }],
    ["  /ping bob lunch?", { do: "send", text: "  /ping bob lunch?" }],
    ["//etc/hosts", { do: "send", text: "/etc/hosts" }],
    ["/ping bob lunch?", { do: "send", text: "/ping bob lunch?" }],
    ["/quit", { do: "quit" }],
    ["/QUIT", { do: "quit" }],
    ["/destroy", { do: "destroy" }],
    ["/cancel", { do: "cancel" }],
    ["/help", { do: "help" }],
    ["/nick robert", { do: "nick", nick: "robert" }],
  ];
  for (const [line, want] of cases) assert.deepEqual(parse(line, older), want, JSON.stringify(line));
});

test("mistakes are sentences and send nothing", () => {
  assert.match(parse("/frobnicate", older).error, /^Unknown command \/frobnicate\./);
  assert.match(parse("/ping", older).error, /Usage: \/ping NICK/);
  assert.equal(parse("/nick bad name", older).do, "error");
  assert.equal(parse("/nick", older).do, "error");
});

test("the nickname rule follows what the server says", () => {
  // An older server: letters and digits only.
  assert.equal(nickProblem("alice", older), "");
  assert.equal(nickProblem("Аlice", older), ""); // Cyrillic А is a letter; the server judges look-alikes
  assert.notEqual(nickProblem("al-ice", older), "");
  // A newer server: -, _ and . inside, its rule as the sentence.
  assert.equal(nickProblem("al-ice", newer), "");
  assert.equal(nickProblem("a.b_c", newer), "");
  assert.equal(nickProblem("-alice", newer), newer.nickRule);
  assert.equal(nickProblem("alice.", newer), newer.nickRule);
  assert.equal(nickProblem("bad name", newer), newer.nickRule);
  assert.equal(nickProblem("x".repeat(25), newer), "");
  assert.equal(nickProblem("x".repeat(26), newer), newer.nickRule);
  assert.equal(nickProblem("", newer), newer.nickRule);
  assert.equal(parse("/nick al-ice", newer).do, "nick");
});

test("Tab completes the name before the cursor", () => {
  const names = new Set(["alice", "Bob", "bobby"]);
  assert.deepEqual(complete("al", 2, names), { text: "alice: ", cursor: 7 });
  assert.deepEqual(complete("hi bo", 5, names), { text: "hi Bob ", cursor: 7 });
  assert.deepEqual(complete("hi @ali later", 7, names), { text: "hi @alice  later", cursor: 10 });
  assert.equal(complete("hi zed", 6, names), null);
  assert.equal(complete("hi ", 3, names), null);
});
