// A language server whose answers a test releases by hand: request
// records each call and returns a promise that answer or fail settles, in
// order; while running is false it returns undefined, as a client whose
// server has stopped does.

export class FakeServer {
  running = true;
  sent: [string, object][] = [];
  private pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  request = (method: string, params: object): Promise<unknown> | undefined => {
    if (!this.running) {
      return undefined;
    }
    this.sent.push([method, params]);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  };
  answer(v: unknown): void {
    this.pending.shift()?.resolve(v);
  }
  fail(e: unknown): void {
    this.pending.shift()?.reject(e);
  }
}
