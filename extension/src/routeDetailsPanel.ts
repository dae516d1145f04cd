// The webview of "Show Route Details": one panel per route, revealed again
// when asked twice. The page (routeDetails.ts) is built in the extension and
// runs no script; the panel re-renders it when the tree's health changes and
// asks devproxy/routeMetrics again every half minute while it is visible. A
// server without devproxy/routeMetrics (MethodNotFound) gets a sentence
// instead of the chart.

import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { Methods, RouteMetrics } from './contract';
import { isMethodNotFound } from './healthSync';
import { errorText } from './log';
import { routeDetailsHtml } from './routeDetails';
import { RouteNode, stateWord } from './routesModel';
import { RoutesTreeProvider } from './routesTree';

const metricsMinutes = 60;
const metricsEveryMs = 30_000;

/** Whether an answer of devproxy/routeMetrics has the shape the chart needs. */
function isRouteMetrics(v: unknown): v is RouteMetrics {
  return typeof v === 'object' && v !== null && Array.isArray((v as RouteMetrics).points);
}

export class RouteDetailsPanels implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(
    private readonly tree: RoutesTreeProvider,
    private readonly request: (method: string, params: object) => Promise<unknown> | undefined,
  ) {}

  show(node: RouteNode): void {
    const existing = this.panels.get(node.id);
    if (existing) {
      existing.reveal();
      return;
    }
    const route = node.route;
    if (!route) {
      return;
    }
    const panel = vscode.window.createWebviewPanel('devproxy.routeDetails', `Route ${node.label}`, vscode.ViewColumn.Active, {
      enableScripts: false,
      enableCommandUris: false,
      localResourceRoots: [],
    });
    this.panels.set(node.id, panel);
    let metrics: RouteMetrics | string | undefined;
    let disposed = false;
    const render = () => {
      if (disposed) {
        return;
      }
      // The newest node of this id: the tree rebuilds its nodes on every change.
      const current = this.tree.route(node.id) ?? node;
      panel.webview.html = routeDetailsHtml({
        label: current.label,
        route,
        file: current.fileId,
        line: current.line,
        upstream: current.upstream ?? '',
        state: stateWord(current.state),
        report: current.health ?? undefined,
        metrics,
        cspSource: panel.webview.cspSource,
        nonce: crypto.randomBytes(16).toString('base64'),
        now: new Date(),
        minutes: metricsMinutes,
      });
    };
    const fetchMetrics = async () => {
      const pending = this.request(Methods.routeMetrics, { route, minutes: metricsMinutes });
      if (!pending) {
        metrics = 'The language server is not running: no traffic to show.';
      } else {
        try {
          const result = await pending;
          metrics = isRouteMetrics(result) ? result : 'The language server sent no traffic metrics.';
        } catch (e) {
          metrics = isMethodNotFound(e) ? 'This language server keeps no traffic metrics (devproxy/routeMetrics); a newer devproxy does.' : `Traffic unavailable: ${errorText(e)}`;
        }
      }
      render();
    };
    render();
    void fetchMetrics();
    // A hidden panel asks nothing; it catches up when it is shown again.
    const timer = setInterval(() => {
      if (panel.visible) {
        void fetchMetrics();
      }
    }, metricsEveryMs);
    const onTree = this.tree.onDidChangeTreeData(() => render());
    const onShown = panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.visible) {
        void fetchMetrics();
      }
    });
    panel.onDidDispose(() => {
      disposed = true;
      clearInterval(timer);
      onTree.dispose();
      onShown.dispose();
      this.panels.delete(node.id);
    });
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) {
      p.dispose();
    }
  }
}
