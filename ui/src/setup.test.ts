import { describe, expect, it } from "vitest";
import { placeOf, s3Address, specOf } from "./setup";

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

const blank = { bucket: "", prefix: "", endpoint: "", region: "", accessKey: "", secretKey: "" };

describe("the S3 form", () => {
  it("makes the s3:// address the engine reads", () => {
    expect(s3Address({ ...blank, bucket: " notes ", region: "eu-central-1" })).toBe(
      "s3://notes/?region=eu-central-1",
    );
    expect(
      s3Address({
        ...blank,
        bucket: "notes",
        prefix: "/family notes/2026/",
        endpoint: "https://garage.example.org:3900",
        region: "garage",
      }),
    ).toBe(
      "s3://notes/family%20notes/2026?endpoint=https%3A%2F%2Fgarage.example.org%3A3900&region=garage",
    );
    expect(s3Address({ ...blank, bucket: "notes" })).toBe("s3://notes/");
  });

  it("takes a whole address pasted into the bucket field as it is", () => {
    const pasted = "s3://b/x?endpoint=http://127.0.0.1:3900&region=garage";
    expect(s3Address({ ...blank, bucket: pasted, region: "ignored" })).toBe(pasted);
  });

  it("names a bucket in words", () => {
    const spec = specOf("s3", {
      path: "",
      url: "",
      username: "",
      password: "",
      s3: { ...blank, bucket: "notes", prefix: "from the app", endpoint: "http://127.0.0.1:3900" },
    });
    expect(placeOf(spec)).toBe("S3 bucket notes/from the app on 127.0.0.1:3900");
  });

  it("sends keys only when given", () => {
    const fields = { path: "", url: "", username: "", password: "" };
    expect(specOf("s3", { ...fields, s3: { ...blank, bucket: "b" } })).toEqual({
      kind: "s3",
      url: "s3://b/",
      access_key: null,
      secret_key: null,
    });
    expect(
      specOf("s3", { ...fields, s3: { ...blank, bucket: "b", accessKey: " K ", secretKey: "S" } }),
    ).toMatchObject({ access_key: "K", secret_key: "S" });
  });
});
