// The emulator's state, shared by both servers and the control API.
import { ClientAssertions } from "./assertions";
import { ChangeTokens } from "./changes";
import { DEFAULT_CONFIG, type EmulatorConfig } from "./config";
import { FaultInjector } from "./faults";
import { FileStore } from "./files";
import { RequestLog, Stats } from "./requestlog";
import { QueryCache } from "./querycache";
import { seedDefaults } from "./seed";
import { Store } from "./store";
import { TokenService } from "./tokens";
import { Timers } from "./util";
import { WebServers } from "./webservers";

export class EmulatorCore {
  readonly config: EmulatorConfig = { ...DEFAULT_CONFIG };
  readonly store = new Store();
  readonly files = new FileStore();
  readonly queries = new QueryCache(this.store);
  readonly tokens = new TokenService();
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  readonly stats = new Stats();
  readonly webServers = new WebServers(this.config);
  readonly timers = new Timers();
  readonly assertions = new ClientAssertions();
  readonly changeTokens = new ChangeTokens();

  /** `https://127.0.0.1:<port>`, no trailing slash; known once the servers listen. */
  dataverseUrl = "";
  /** `127.0.0.1:<port>` of the login server; known once the servers listen. */
  authorityHost = "";

  constructor() {
    seedDefaults(this.store);
  }

  /** Everything back to the state right after start (tokens included). */
  reset(): void {
    this.store.clearAll();
    this.files.clear();
    this.queries.clear();
    seedDefaults(this.store);
    this.log.clear();
    this.stats.reset();
    this.faults.clear();
    Object.assign(this.config, DEFAULT_CONFIG);
    this.tokens.invalidateAll();
    this.webServers.clear();
    this.assertions.reset();
    this.changeTokens.clear();
  }
}
