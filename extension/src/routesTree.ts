// The Routes view (devproxy.routes): a TreeDataProvider over the pure
// RoutesModel: file → routes, or folder → file → routes when the table has
// more than one folder. The server pushes changes (devproxy/routesChanged);
// routeSync.ts debounces them, asks devproxy/routes and calls update().
// Ids come from the model and are stable, so a refresh keeps expansion.
// Runtime health (healthSync.ts) arrives on its own; the tree keeps the
// newest table and the newest HealthDocument and rebuilds from both.

import * as os from 'os';
import * as vscode from 'vscode';
import { Commands, HealthDocument, RoutesResult } from './contract';
import { healthWord, isNewerHealth } from './healthModel';
import {
  buildRoutesModel,
  emptyRoutesModel,
  FileNode,
  FileProblem,
  fileStartsExpanded,
  filterDescription,
  filterMessage,
  filterRoutesModel,
  FolderNode,
  IconSpec,
  isNewer,
  ProblemNode,
  problemNodes,
  routeCount,
  RouteNode,
  RoutesModel,
  routesViewState,
  RoutesViewState,
  TreeNode,
} from './routesModel';

/** A node of the view: the model's, or an error of a file that does not load. */
export type ViewNode = TreeNode | ProblemNode;

function themeIcon(spec: IconSpec): vscode.ThemeIcon {
  return spec.color ? new vscode.ThemeIcon(spec.id, new vscode.ThemeColor(spec.color)) : new vscode.ThemeIcon(spec.id);
}

export class RoutesTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private model: RoutesModel = emptyRoutesModel;
  /** The model narrowed by the filter: what the view shows. */
  private shown: RoutesModel = emptyRoutesModel;
  private filterText = '';
  private stopped = false;
  private table: RoutesResult | undefined;
  private healthDoc: HealthDocument | undefined;
  /** The parent of every route (its file) and, when grouped, of every file (its folder), by id. */
  private parents = new Map<string, FileNode | FolderNode>();
  private readonly home = os.homedir();
  private readonly changed = new vscode.EventEmitter<ViewNode | undefined>();
  private readonly stateChanged = new vscode.EventEmitter<void>();
  /** The filter or what the empty view should say changed: the view's description and context key follow. */
  readonly onDidChangeViewState = this.stateChanged.event;

  /**
   * The errors of a route file, from the client's diagnostics: a file that
   * does not load shows them as its children. Set by the glue; none in tests.
   */
  problemsOf: (uri: string) => FileProblem[] = () => [];
  readonly onDidChangeTreeData = this.changed.event;

  /** Shows a new route table; an answer older than the one shown is dropped. */
  update(result: RoutesResult): boolean {
    if (!isNewer(this.model, result)) {
      return false;
    }
    this.table = result;
    this.stopped = false;
    this.rebuild();
    return true;
  }

  /** The filter of "Filter Routes…": route path, file name or upstream; '' for none. */
  get filter(): string {
    return this.filterText;
  }

  setFilter(text: string): void {
    this.filterText = text.trim();
    this.shown = filterRoutesModel(this.model, this.filterText);
    this.changed.fire(undefined);
    this.stateChanged.fire();
  }

  /** The view's description: the filter and how many routes it lets through. */
  get description(): string {
    return filterDescription(this.filterText, routeCount(this.shown), routeCount(this.model));
  }

  /** The message above the tree while filtered; '' without a filter. */
  get message(): string {
    return filterMessage(this.filterText, routeCount(this.shown), routeCount(this.model));
  }

  /** What an empty view says (the context key devproxy.routesView). */
  get viewState(): RoutesViewState {
    return routesViewState({ stopped: this.stopped, loaded: this.table !== undefined, files: this.model.files.length, shownFiles: this.shown.files.length });
  }

  /** The server stopped (or starts again): the empty view says so, with a Restart button. */
  setStopped(stopped: boolean): void {
    if (this.stopped !== stopped) {
      this.stopped = stopped;
      this.stateChanged.fire();
    }
  }

  /** The diagnostics of a file that does not load changed: its children follow. */
  problemsChanged(uris: readonly string[]): void {
    const set = new Set(uris);
    if (this.model.files.some((f) => !f.ok && set.has(f.uri))) {
      this.changed.fire(undefined);
    }
  }

  /** Shows a new health document; one older than the one shown is dropped. */
  updateHealth(doc: HealthDocument): boolean {
    if (!isNewerHealth(this.healthDoc, doc)) {
      return false;
    }
    this.healthDoc = doc;
    if (this.table) {
      this.rebuild();
    }
    return true;
  }

  get health(): HealthDocument | undefined {
    return this.healthDoc;
  }

  /** The route node of an id, for commands given an id rather than a node. */
  route(id: string): RouteNode | undefined {
    for (const f of this.model.files) {
      const r = f.routes.find((x) => x.id === id);
      if (r) {
        return r;
      }
    }
    return undefined;
  }

  private rebuild(): void {
    if (!this.table) {
      return;
    }
    this.model = buildRoutesModel(this.table, { home: this.home, health: this.healthDoc });
    this.parents = new Map();
    for (const folder of this.model.folders) {
      for (const f of folder.files) {
        this.parents.set(f.id, folder);
      }
    }
    for (const f of this.model.files) {
      for (const r of f.routes) {
        this.parents.set(r.id, f);
      }
    }
    this.shown = filterRoutesModel(this.model, this.filterText);
    this.changed.fire(undefined);
    this.stateChanged.fire();
  }

  /** Forgets the table: the server stopped, or a new one (with new versions) starts. */
  clear(): void {
    this.model = emptyRoutesModel;
    this.shown = emptyRoutesModel;
    this.table = undefined;
    this.healthDoc = undefined;
    this.parents = new Map();
    this.changed.fire(undefined);
    this.stateChanged.fire();
  }

  get current(): RoutesModel {
    return this.model;
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    switch (node.kind) {
      case 'problem':
        return this.problemItem(node);
      case 'folder':
        return this.folderItem(node);
      case 'file':
        return this.fileItem(node);
      case 'route':
        return this.routeItem(node);
    }
  }

  private folderItem(node: FolderNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, node.files.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    return item;
  }

  private fileItem(node: FileNode): vscode.TreeItem {
    const start = fileStartsExpanded(node, this.fileProblems(node).length);
    const state = start === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : start === 'collapsed' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    item.resourceUri = vscode.Uri.parse(node.uri);
    // A file with nothing to expand: open it instead.
    if (state === vscode.TreeItemCollapsibleState.None) {
      item.command = { command: 'vscode.open', title: 'Open File', arguments: [item.resourceUri] };
    }
    return item;
  }

  private routeItem(node: RouteNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    // Markdown, everything from the server escaped by the model; not trusted, so no command links.
    const tooltip = new vscode.MarkdownString(node.tooltipMarkdown);
    tooltip.supportThemeIcons = true;
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: `${node.label}, health ${healthWord(node.healthStatus)}, ${node.description}` };
    // The runtime health; the config state's icon for an inactive block.
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    item.command = { command: Commands.revealRoute, title: 'Reveal in File', arguments: [node.reveal] };
    return item;
  }

  private problemItem(node: ProblemNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = `${node.label} (${node.fileId}, ${node.description})`;
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    item.contextValue = node.contextValue;
    item.command = { command: Commands.revealRoute, title: 'Reveal in File', arguments: [node.reveal] };
    return item;
  }

  /** The errors of a file that does not load (none for the others). */
  private fileProblems(node: FileNode): ProblemNode[] {
    return node.ok || node.stale ? [] : problemNodes(node, this.problemsOf(node.uri));
  }

  getChildren(node?: ViewNode): ViewNode[] {
    if (!node) {
      return this.shown.folders.length > 0 ? this.shown.folders : this.shown.files;
    }
    switch (node.kind) {
      case 'folder':
        return this.shown.folders.find((f) => f.id === node.id)?.files ?? node.files;
      case 'file':
        return node.routes.length > 0 ? node.routes : this.fileProblems(node);
      case 'route':
      case 'problem':
        return [];
    }
  }

  getParent(node: ViewNode): ViewNode | undefined {
    if (node.kind === 'problem') {
      return this.model.files.find((f) => f.id === node.fileId);
    }
    return node.kind === 'folder' ? undefined : this.parents.get(node.id);
  }

  dispose(): void {
    this.changed.dispose();
    this.stateChanged.dispose();
  }
}
