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
import { buildRoutesModel, emptyRoutesModel, FileNode, FolderNode, IconSpec, isNewer, RouteNode, RoutesModel, TreeNode } from './routesModel';

function themeIcon(spec: IconSpec): vscode.ThemeIcon {
  return spec.color ? new vscode.ThemeIcon(spec.id, new vscode.ThemeColor(spec.color)) : new vscode.ThemeIcon(spec.id);
}

export class RoutesTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private model: RoutesModel = emptyRoutesModel;
  private table: RoutesResult | undefined;
  private healthDoc: HealthDocument | undefined;
  /** The parent of every route (its file) and, when grouped, of every file (its folder), by id. */
  private parents = new Map<string, FileNode | FolderNode>();
  private readonly home = os.homedir();
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  /** Shows a new route table; an answer older than the one shown is dropped. */
  update(result: RoutesResult): boolean {
    if (!isNewer(this.model, result)) {
      return false;
    }
    this.table = result;
    this.rebuild();
    return true;
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
    this.changed.fire(undefined);
  }

  /** Forgets the table: the server stopped, or a new one (with new versions) starts. */
  clear(): void {
    this.model = emptyRoutesModel;
    this.table = undefined;
    this.healthDoc = undefined;
    this.parents = new Map();
    this.changed.fire(undefined);
  }

  get current(): RoutesModel {
    return this.model;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.kind) {
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
    const item = new vscode.TreeItem(node.label, node.routes.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    item.resourceUri = vscode.Uri.parse(node.uri);
    // A file without routes has nothing to expand: open it instead.
    if (node.routes.length === 0) {
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

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      return this.model.folders.length > 0 ? this.model.folders : this.model.files;
    }
    switch (node.kind) {
      case 'folder':
        return node.files;
      case 'file':
        return node.routes;
      case 'route':
        return [];
    }
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'folder' ? undefined : this.parents.get(node.id);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
