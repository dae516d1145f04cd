// The Routes view (devproxy.routes): a TreeDataProvider over the pure
// RoutesModel: file → routes, or folder → file → routes when the table has
// more than one folder. The server pushes changes (devproxy/routesChanged);
// routeSync.ts debounces them, asks devproxy/routes and calls update().
// Ids come from the model and are stable, so a refresh keeps expansion.

import * as os from 'os';
import * as vscode from 'vscode';
import { Commands, RoutesResult } from './contract';
import { buildRoutesModel, emptyRoutesModel, FileNode, FolderNode, IconSpec, isNewer, RouteNode, RoutesModel, TreeNode } from './routesModel';

function themeIcon(spec: IconSpec): vscode.ThemeIcon {
  return spec.color ? new vscode.ThemeIcon(spec.id, new vscode.ThemeColor(spec.color)) : new vscode.ThemeIcon(spec.id);
}

export class RoutesTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private model: RoutesModel = emptyRoutesModel;
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
    this.model = buildRoutesModel(result, { home: this.home });
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
    return true;
  }

  /** Forgets the table: the server stopped, or a new one (with new versions) starts. */
  clear(): void {
    this.model = emptyRoutesModel;
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
    item.tooltip = node.tooltip;
    // Later, a health icon replaces the state icon once node.health is set.
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
