import { describe, expect, it } from "vitest";
import { placeOf, specOf } from "./setup";

describe("setup form", () => {
  const fields = {
    path: "  /media/usb/notes ",
    url: " https://dav.example.com/notes/ ",
    username: " me ",
    password: "",
  };
  it("describes a folder target", () => {
    const s = specOf("folder", fields);
    expect(s).toEqual({ kind: "folder", path: "/media/usb/notes" });
    expect(placeOf(s)).toBe("/media/usb/notes");
  });
  it("describes a WebDAV target; empty fields are absent", () => {
    const s = specOf("webdav", fields);
    expect(s).toEqual({
      kind: "webdav",
      url: "https://dav.example.com/notes/",
      username: "me",
      password: null,
    });
    expect(placeOf(s)).toBe("https://dav.example.com/notes/");
    expect(specOf("webdav", { ...fields, username: " ", password: "pw" })).toEqual({
      kind: "webdav",
      url: "https://dav.example.com/notes/",
      username: null,
      password: "pw",
    });
  });
});
