/**
 * Editor code shared by the node-red-contrib-dataverse dialogs: field validators, the TypedInput
 * setup, table and column suggestions, the query dialog's FetchXML editor, and the connection
 * dialog's Advanced section and Test connection button. Node-RED serves it at
 * resources/node-red-contrib-dataverse/dataverse-editor.js; every node's .html loads it, so it
 * defines window.DataverseEditor only once.
 *
 * Its texts are in the connection's catalogue (locales/<lang>/dataverse-connection.json), under
 * "errors" and "editor".
 */
(function () {
    "use strict";
    if (window.DataverseEditor) {
        return;
    }

    var CATALOGUE = "node-red-contrib-dataverse/dataverse-connection:dataverse-connection.";
    var ENV_VAR = /^\$\{[^}]+\}$/;
    var GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
    var IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
    var DOMAIN = /^[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+$/;
    var HTTPS_URL = /^https:\/\/[^\s/?#@]+(\/[^\s]*)?$/i;
    var LOOPBACK_URL = /^http:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?(\/[^\s]*)?$/i;
    var AUTHORITY_HOST = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;
    var CLOUDS = ["public", "gcc", "gcchigh", "dod", "china", "adfs", "custom"];
    var AUTH_TYPES = ["secret", "certificate", "managedIdentity", "workloadIdentity"];
    /** Web API versions of /api/data/v<version>/: on-premises servers run 8.0 to 9.1, online 9.2. */
    var API_VERSION = /^(8\.[0-2]|9\.[0-2])$/;
    /** The AD FS service URL; without a scheme it is read as https, as the runtime does. */
    var ADFS_URL = /^(https:\/\/)?[a-z0-9.-]+(:\d+)?\/adfs\/?$/i;
    var PROXY_URL = /^https?:\/\/[^\s/?#]+\/?$/i;
    /** The connection's settings and credentials, by the names the runtime takes (src/shared/connection-node.ts). */
    var TEXT_SETTINGS = ["url", "tenant", "cloud", "authority", "authType", "apiVersion", "tokenFile", "proxy"];
    var CREDENTIALS = [
        "clientId",
        "clientSecret",
        "certificate",
        "privateKey",
        "pfx",
        "passphrase",
        "proxyUsername",
        "proxyPassword",
        "connectionString",
    ];
    /** Reliability settings of the connection: [min, max] of the whole number, empty means the default. */
    var NUMBERS = {
        concurrency: [1, 52],
        queueLimit: [1, 10000000],
        maxThrottleWait: [0, 86400],
        maxRetries: [0, 20],
        timeout: [1, 3600],
        bulkSize: [1, 1000],
    };
    var BULK_MODES = ["auto", "off"];
    var LIST_TTL_MS = 2 * 60 * 1000;
    var MAX_SUGGESTIONS = 100;

    function _(key, args) {
        return RED._(CATALOGUE + key, args);
    }
    function isEnv(v) {
        return typeof v === "string" && ENV_VAR.test(v.trim());
    }
    function trimmed(v) {
        return typeof v === "string" ? v.trim() : v === undefined || v === null ? "" : String(v);
    }
    function isGuid(v) {
        return GUID.test(trimmed(v).replace(/^\{(.*)\}$/, "$1"));
    }
    function parseJson(v) {
        try {
            return { value: JSON.parse(v) };
        } catch {
            return null;
        }
    }
    function isKeyObject(value) {
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
            return false;
        }
        var columns = Object.keys(value);
        return (
            columns.length > 0 &&
            columns.every(function (column) {
                var v = value[column];
                return (
                    IDENTIFIER.test(column) && (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && isFinite(v)))
                );
            })
        );
    }
    function isWholeNumber(text, min, max) {
        return /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max;
    }
    function isColumnList(text) {
        return text.split(",").every(function (c) {
            return IDENTIFIER.test(c.trim());
        });
    }
    /** The value of a field in the open dialog, or the saved one when its dialog is not open. */
    function fieldValue(node, id, property, fallback) {
        var v = $(id).val();
        return typeof v === "string" && v !== "" ? v : (node && node[property]) || fallback;
    }
    function typeOf(node, field, fallback) {
        return fieldValue(node, "#node-input-" + field, field, fallback);
    }
    function connectionSetting(node, name, fallback) {
        return fieldValue(node, "#node-config-input-" + name, name, fallback);
    }
    /** A credential in the open dialog (a stored password shows as __PWRD__), or whether the saved node has it. */
    function hasCredential(node, name) {
        var v = $("#node-config-input-" + name).val();
        if (typeof v === "string") {
            return v.trim() !== "";
        }
        var credentials = (node && node.credentials) || {};
        return !!(credentials[name] || credentials["has_" + name]);
    }
    /** A connection string fills, at runtime, whatever the fields leave empty. */
    function filledByConnectionString(node) {
        return hasCredential(node, "connectionString");
    }
    function authTypeOf(node) {
        return connectionSetting(node, "authType", "secret");
    }
    /** Whether the fields of an app registration (tenant, client ID and its secret or certificate) are needed. */
    function signsInAsApp(node) {
        var authType = authTypeOf(node);
        return authType === "secret" || authType === "certificate";
    }
    /** "" → the required error, else the check; empty is fine when the value is optional here. */
    function needed(v, required, requiredKey, check) {
        if (trimmed(v) === "") {
            return required ? _("errors." + requiredKey) : true;
        }
        return isEnv(v) ? true : check(trimmed(v));
    }

    // ---------------------------------------------------------------------------------------------
    // Validators: called as validate(v, opt) with `this` the node; true, or the reason as text.

    /**
     * A validator for a TypedInput field: for the types in `checks`, `checks[type](value)` says whether the
     * value is usable (true) or not (false, or the key of a more precise error); other types get Node-RED's check.
     */
    function typed(field, fallbackType, checks) {
        var builtIn;
        return function (v, opt) {
            var type = typeOf(this, field + "Type", fallbackType);
            if (Object.prototype.hasOwnProperty.call(checks, type)) {
                if (isEnv(v)) {
                    return true;
                }
                var result = checks[type](v);
                return result === true ? true : _("errors." + (result || field + (type === "json" ? "Json" : "")));
            }
            builtIn = builtIn || RED.validators.typedInput(field + "Type");
            return builtIn.call(this, v, opt);
        };
    }

    function number(name) {
        var range = NUMBERS[name];
        return function (v) {
            var text = trimmed(v);
            if (text === "" || isEnv(text)) {
                return true;
            }
            if (isWholeNumber(text, range[0], range[1])) {
                return true;
            }
            return _("errors.number", { label: _("label." + name), min: range[0], max: range[1] });
        };
    }

    var STORED_PASSWORD = "__PWRD__";

    /** A certificate's PEM fields: needed for the certificate type unless a PFX is given; must look like PEM. */
    function pemOrPfx(node, v, pem, name) {
        if (authTypeOf(node) !== "certificate") {
            return true;
        }
        var text = trimmed(v);
        if (text === "") {
            var required = !hasCredential(node, "pfx") && !filledByConnectionString(node);
            return required ? _("errors." + name + "Required") : true;
        }
        return text === STORED_PASSWORD || isEnv(text) || pem.test(text) ? true : _("errors." + name);
    }

    var validators = {
        // the connection: what is required depends on authType and cloud, and nothing is when a connection string fills it
        url: function (v) {
            return needed(v, !filledByConnectionString(this), "urlRequired", function (url) {
                if (!HTTPS_URL.test(url) && !LOOPBACK_URL.test(url)) {
                    return _("errors.url");
                }
                return /\/api\/data/i.test(url) ? _("errors.urlApiPath") : true;
            });
        },
        tenant: function (v) {
            var cloud = connectionSetting(this, "cloud", "public");
            if (cloud === "adfs" || authTypeOf(this) === "managedIdentity") {
                return true; // not used: the field is hidden
            }
            var required = signsInAsApp(this) && !filledByConnectionString(this);
            return needed(v, required, "tenantRequired", function (tenant) {
                if (/^(common|organizations|consumers)$/i.test(tenant)) {
                    return _("errors.tenantShared");
                }
                return GUID.test(tenant) || DOMAIN.test(tenant) ? true : _("errors.tenant");
            });
        },
        cloud: function (v) {
            return isEnv(v) || CLOUDS.indexOf(v) !== -1 ? true : _("errors.cloud");
        },
        authority: function (v) {
            v = trimmed(v);
            var cloud = connectionSetting(this, "cloud", "public");
            if (cloud !== "custom" && cloud !== "adfs" && !isEnv(cloud)) {
                return true;
            } // only the custom and AD FS clouds use it
            if (v === "") {
                return cloud === "custom" || cloud === "adfs" ? _("errors.authorityRequired") : true;
            }
            if (cloud === "adfs") {
                return isEnv(v) || ADFS_URL.test(v) ? true : _("errors.authorityAdfs");
            }
            return isEnv(v) || HTTPS_URL.test(v) || AUTHORITY_HOST.test(v) ? true : _("errors.authority");
        },
        authType: function (v) {
            // empty: a connection saved before there was a choice, which the runtime reads as secret
            return v === undefined || v === "" || AUTH_TYPES.indexOf(v) !== -1 || isEnv(v) ? true : _("errors.authType");
        },
        clientId: function (v) {
            // managed identity: empty is the system-assigned one; workload identity: empty is AZURE_CLIENT_ID
            var required = signsInAsApp(this) && !filledByConnectionString(this);
            return needed(v, required, "clientIdRequired", function (id) {
                return GUID.test(id) ? true : _("errors.clientId");
            });
        },
        clientSecret: function (v) {
            var required = authTypeOf(this) === "secret" && !filledByConnectionString(this);
            return needed(v, required, "clientSecretRequired", function () {
                return true;
            });
        },
        certificate: function (v) {
            return pemOrPfx(this, v, /-----BEGIN CERTIFICATE-----/, "certificate");
        },
        privateKey: function (v) {
            return pemOrPfx(this, v, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "privateKey");
        },
        pfx: function (v) {
            var text = trimmed(v);
            if (text === "" || text === STORED_PASSWORD || isEnv(text) || authTypeOf(this) !== "certificate") {
                return true;
            }
            return /^[A-Za-z0-9+/\s]+=*$/.test(text) ? true : _("errors.pfx");
        },
        connectionString: function (v) {
            var text = trimmed(v);
            if (text === "" || text === STORED_PASSWORD || isEnv(text) || !window.DataverseConnectionString) {
                return true;
            }
            try {
                window.DataverseConnectionString.parseConnectionString(text);
                return true;
            } catch (err) {
                return _("errors.connectionString", { reason: err.message });
            }
        },
        apiVersion: function (v) {
            v = trimmed(v);
            return v === "" || isEnv(v) || API_VERSION.test(v) ? true : _("errors.apiVersion");
        },
        proxy: function (v) {
            v = trimmed(v);
            return v === "" || isEnv(v) || PROXY_URL.test(v) ? true : _("errors.proxy");
        },

        concurrency: number("concurrency"),
        queueLimit: number("queueLimit"),
        maxThrottleWait: number("maxThrottleWait"),
        maxRetries: number("maxRetries"),
        timeout: number("timeout"),
        bulk: function (v) {
            // empty: a connection saved before there was a choice, which the runtime reads as auto
            return v === undefined || v === null || v === "" || BULK_MODES.indexOf(v) !== -1 || isEnv(v) ? true : _("errors.bulk");
        },
        bulkSize: number("bulkSize"),

        // the action nodes
        table: typed("table", "str", {
            str: function (v) {
                return IDENTIFIER.test(trimmed(v));
            },
        }),
        rowId: typed("rowId", "msg", {
            str: isGuid,
            json: function (v) {
                var parsed = parseJson(v);
                return !!parsed && ((typeof parsed.value === "string" && isGuid(parsed.value)) || isKeyObject(parsed.value));
            },
        }),
        row: typed("row", "msg", {
            json: function (v) {
                var parsed = parseJson(v);
                return !!parsed && parsed.value !== null && typeof parsed.value === "object" && !Array.isArray(parsed.value);
            },
        }),
        select: typed("select", "str", {
            str: function (v) {
                v = trimmed(v);
                return v === "" || isColumnList(v);
            },
            json: function (v) {
                if (trimmed(v) === "") {
                    return true;
                }
                var parsed = parseJson(v);
                return (
                    !!parsed &&
                    Array.isArray(parsed.value) &&
                    parsed.value.every(function (c) {
                        return typeof c === "string" && IDENTIFIER.test(c.trim());
                    })
                );
            },
        }),
        expand: typed("expand", "str", {
            str: function (v) {
                v = trimmed(v);
                return v === "" || (/^[A-Za-z_]/.test(v) && !/[&?#\r\n]/.test(v));
            },
        }),
        relationship: typed("relationship", "str", {
            str: function (v) {
                return IDENTIFIER.test(trimmed(v));
            },
        }),
        targetTable: typed("targetTable", "str", {
            str: function (v) {
                return trimmed(v) === "" || IDENTIFIER.test(trimmed(v));
            },
        }),
        mode: function (v) {
            return v === "update" || v === "upsert" || isEnv(v) ? true : _("errors.mode");
        },
    };

    /** Why a FetchXML text cannot be sent (the key of the error), or true. */
    function fetchXmlProblem(text) {
        var xml = new DOMParser().parseFromString(trimmed(text), "application/xml");
        if (xml.getElementsByTagName("parsererror").length) {
            return "fetchXml";
        }
        var root = xml.documentElement;
        var entity = Array.prototype.filter.call(root.children, function (child) {
            return child.nodeName === "entity";
        })[0];
        return root.nodeName === "fetch" && entity && trimmed(entity.getAttribute("name")) ? true : "fetchXmlEntity";
    }

    /** The query dialog shows only the fields of its query type; the hidden ones are not checked. */
    function forQueryType(queryType, validate) {
        return function (v, opt) {
            return fieldValue(this, "#node-input-queryType", "queryType", "odata") === queryType ? validate.call(this, v, opt) : true;
        };
    }

    var ORDER_BY = /^[A-Za-z_][A-Za-z0-9_]*(\s+(asc|desc))?$/i;

    // the query node
    validators.query = {
        queryType: function (v) {
            return v === "odata" || v === "fetchxml" || isEnv(v) ? true : _("errors.queryType");
        },
        table: forQueryType("odata", function (v, opt) {
            return trimmed(v) === "" ? _("errors.tableRequired") : validators.table.call(this, v, opt);
        }),
        select: forQueryType("odata", validators.select),
        filter: forQueryType("odata", typed("filter", "str", {})),
        orderby: forQueryType(
            "odata",
            typed("orderby", "str", {
                str: function (v) {
                    v = trimmed(v);
                    return (
                        v === "" ||
                        v.split(",").every(function (part) {
                            return ORDER_BY.test(part.trim());
                        })
                    );
                },
            }),
        ),
        expand: forQueryType("odata", validators.expand),
        fetchXml: forQueryType("fetchxml", typed("fetchXml", "str", { str: fetchXmlProblem })),
        // empty: the default (5000)
        maxRows: typed("maxRows", "num", {
            num: function (v) {
                return trimmed(v) === "" || isWholeNumber(trimmed(v), 0, Number.MAX_SAFE_INTEGER);
            },
        }),
        pageSize: typed("pageSize", "num", {
            num: function (v) {
                return trimmed(v) === "" || isWholeNumber(trimmed(v), 1, 5000);
            },
        }),
        output: function (v) {
            return ["all", "page", "row"].indexOf(v) !== -1 || isEnv(v) ? true : _("errors.output");
        },
    };

    // ---------------------------------------------------------------------------------------------
    // Tables and columns of the chosen connection, through the admin endpoints (src/shared/admin-api.ts)

    var lists = {};

    /** Where a deployed connection's list is: /tables, /tables/<table>/columns or /operations. */
    function deployedPath(what, table) {
        if (what === "columns") {
            return "/tables/" + encodeURIComponent(table) + "/columns";
        }
        return what === "operations" ? "/operations" : "/tables";
    }

    /** What the runtime needs to list a connection's metadata: its id, or its values when not deployed as it is. */
    function connectionRequest(connectionId, what, table) {
        var conn = connectionId ? RED.nodes.node(connectionId) : null;
        if (!conn || conn.type !== "dataverse-connection") {
            return null;
        }
        var id = encodeURIComponent(conn.id);
        if (!conn.changed) {
            return {
                type: "GET",
                url: "dataverse/connections/" + id + deployedPath(what, table),
            };
        }
        var credentials = conn.credentials || {};
        var connection = { id: conn.id, tls: conn.tls, timeout: conn.timeout, sendX5c: conn.sendX5c };
        TEXT_SETTINGS.forEach(function (name) {
            connection[name] = conn[name];
        });
        CREDENTIALS.forEach(function (name) {
            connection[name] = credentials[name];
        });
        var data = { connection: connection };
        if (what === "columns") {
            data.table = table;
        }
        return { type: "POST", url: "dataverse/" + what, contentType: "application/json", data: JSON.stringify(data) };
    }

    /** A promise of the list (tables, a table's columns, or the operations), loaded once per connection for a while. */
    function loadList(connectionId, what, table) {
        var request = connectionRequest(connectionId, what, table);
        if (!request) {
            return $.Deferred()
                .reject({ message: _("editor.noConnection") })
                .promise();
        }
        var key = JSON.stringify(request);
        var hit = lists[key];
        if (hit && hit.expires > Date.now()) {
            return hit.promise;
        }
        var deferred = $.Deferred();
        $.ajax($.extend({ dataType: "json", timeout: 45000 }, request)).then(
            function (body) {
                if (body && body.ok) {
                    deferred.resolve(body[what] || []);
                } else {
                    deferred.reject((body && body.error) || { message: _("editor.unavailable") });
                }
            },
            function (xhr) {
                var body = xhr.responseJSON;
                deferred.reject(
                    (body && body.error) || { message: xhr.status ? xhr.status + " " + xhr.statusText : _("editor.unavailable") },
                );
            },
        );
        lists[key] = { expires: Date.now() + LIST_TTL_MS, promise: deferred.promise() };
        deferred.fail(function () {
            delete lists[key];
        });
        return lists[key].promise;
    }

    function matches(text, words) {
        text = text.toLowerCase();
        return words.every(function (w) {
            return text.indexOf(w) !== -1;
        });
    }

    function suggestion(value, name, detail) {
        var label = $('<div class="dataverse-suggestion" style="display:flex; justify-content:space-between; gap:12px;"></div>');
        $("<span></span>").text(name).appendTo(label);
        $('<code style="opacity:0.8;"></code>').text(detail).appendTo(label);
        return { value: value, label: label };
    }

    /** The table a name stands for: by entity set name (accounts), or by logical name (account). */
    function findTable(tables, name) {
        var by = function (property) {
            return tables.filter(function (t) {
                return t[property] === name;
            })[0];
        };
        return by("entitySetName") || by("logicalName");
    }

    /** A promise of the entity set name of a table given by either name (the name itself when it is not in the list). */
    function entitySetOf(connectionId, name) {
        return loadList(connectionId, "tables").then(
            function (tables) {
                var table = findTable(tables, name);
                return table ? table.entitySetName : name;
            },
            function () {
                return name;
            },
        );
    }

    function tableSuggestions(connectionId) {
        return function (value, done) {
            var words = trimmed(value).toLowerCase().split(/\s+/).filter(Boolean);
            loadList(connectionId(), "tables").then(
                function (tables) {
                    done(
                        tables
                            .filter(function (t) {
                                return matches(t.displayName + " " + t.entitySetName + " " + t.logicalName, words);
                            })
                            .slice(0, MAX_SUGGESTIONS)
                            .map(function (t) {
                                return suggestion(t.entitySetName, t.displayName, t.entitySetName);
                            }),
                    );
                },
                function () {
                    done([]);
                },
            );
        };
    }

    /** Suggests the next column of a comma list: "name,tel" → "name,telephone1". */
    function columnSuggestions(connectionId, table) {
        return function (value, done) {
            var parts = String(value).split(",");
            var last = parts.pop().trim().toLowerCase();
            var chosen = parts.map(function (p) {
                return p.trim();
            });
            var prefix = chosen.length ? chosen.join(",") + "," : "";
            var name = table();
            if (!name) {
                done([]);
                return;
            }
            entitySetOf(connectionId(), name)
                .then(function (set) {
                    return loadList(connectionId(), "columns", set);
                })
                .then(
                    function (columns) {
                        done(
                            columns
                                .filter(function (c) {
                                    return (
                                        chosen.indexOf(c.logicalName) === -1 &&
                                        matches(c.logicalName + " " + c.displayName, last ? [last] : [])
                                    );
                                })
                                .slice(0, MAX_SUGGESTIONS)
                                .map(function (c) {
                                    return suggestion(prefix + c.logicalName, c.displayName, c.logicalName);
                                }),
                        );
                    },
                    function () {
                        done([]);
                    },
                );
        };
    }

    /**
     * The hint under the table field: the entity set a logical name stands for, else how many tables
     * there are to pick from, or why there are none.
     */
    function showTableHint(hint, connectionId, name) {
        if (!connectionId || connectionId === "_ADD_") {
            hint.text(_("editor.tablesNoConnection"));
            return;
        }
        var list = loadList(connectionId, "tables");
        if (list.state() === "pending") {
            hint.text(_("editor.tablesLoading"));
        }
        list.then(
            function (tables) {
                var table = name && findTable(tables, name);
                hint.text(
                    table && table.entitySetName !== name
                        ? _("editor.tableEntitySet", { entitySet: table.entitySetName })
                        : _("editor.tablesLoaded", { count: tables.length }),
                );
            },
            function (error) {
                hint.text(_("editor.tablesFailed", { message: error.message || "" }));
            },
        );
    }

    // ---------------------------------------------------------------------------------------------
    // TypedInputs of the action nodes

    var STRING = { value: "str", label: "string", icon: "red/images/typedInput/az.svg" };
    var FIELDS = {
        table: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        rowId: { fallback: "msg", types: ["msg", "flow", "global", "str", "json", "env", "jsonata"] },
        column: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        row: { fallback: "msg", types: ["msg", "flow", "global", "json", "jsonata", "env"] },
        select: { fallback: "str", types: ["str", "json", "msg", "flow", "global", "env", "jsonata"] },
        expand: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        filter: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        orderby: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        maxRows: { fallback: "num", types: ["num", "msg", "flow", "global", "env", "jsonata"] },
        pageSize: { fallback: "num", types: ["num", "msg", "flow", "global", "env"] },
        relationship: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        targetTable: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        targetId: { fallback: "msg", types: ["msg", "flow", "global", "str", "json", "env", "jsonata"] },
    };

    /**
     * Sets up an action node dialog: a TypedInput for each of `fields`, the table field suggesting
     * the connection's tables and the select field its columns, and the hint under the table field.
     * Any typed value is still accepted.
     */
    function prepareActionDialog(node, fields) {
        var connection = $("#node-input-connection");
        var connectionId = function () {
            return connection.val();
        };
        var tableInput = $("#node-input-table");
        var tableName = function () {
            var type = tableInput.typedInput("type");
            var value = trimmed(tableInput.typedInput("value"));
            return type === "str" && IDENTIFIER.test(value) ? value : "";
        };
        fields.forEach(function (field) {
            var spec = FIELDS[field];
            var types = spec.types.slice();
            if (field === "table" || field === "targetTable") {
                types[0] = $.extend({ autoComplete: tableSuggestions(connectionId) }, STRING);
            }
            if (field === "select") {
                types[0] = $.extend({ autoComplete: columnSuggestions(connectionId, tableName) }, STRING);
            }
            $("#node-input-" + field).typedInput({
                default: spec.fallback,
                types: types,
                typeField: "#node-input-" + field + "Type",
            });
        });
        var hint = $("#node-input-table-hint");
        var refresh = function () {
            showTableHint(hint, connectionId(), tableName());
        };
        connection.on("change", refresh);
        tableInput.on("change keyup", refresh);
        refresh();
    }

    /**
     * Sets up the changes dialog. A trigger has no message to read from, so table and columns are plain
     * text fields, with the same suggestions and table hint as the action dialogs.
     */
    function prepareChangesDialog() {
        var connection = $("#node-input-connection");
        var connectionId = function () {
            return connection.val();
        };
        var tableInput = $("#node-input-table");
        var tableName = function () {
            var value = trimmed(tableInput.val());
            return IDENTIFIER.test(value) ? value : "";
        };
        tableInput.autoComplete({ search: tableSuggestions(connectionId) });
        $("#node-input-select").autoComplete({ search: columnSuggestions(connectionId, tableName) });
        var hint = $("#node-input-table-hint");
        var refresh = function () {
            showTableHint(hint, connectionId(), tableName());
        };
        connection.on("change", refresh);
        tableInput.on("change keyup", refresh);
        refresh();
    }

    // ---------------------------------------------------------------------------------------------
    // The query dialog: OData fields or FetchXML, the FetchXML written in Node-RED's code editor

    /**
     * Sets up the query dialog. FetchXML is either written in the code editor (fetchXmlType "str",
     * fetchXml holds the text) or read from msg/flow/global/env (fetchXml holds where); the hidden
     * #node-input-fetchXml always holds what will be saved.
     */
    function prepareQueryDialog(node) {
        prepareActionDialog(node, ["table", "select", "filter", "orderby", "expand", "maxRows", "pageSize"]);
        var queryType = $("#node-input-queryType");
        var source = $("#node-input-fetchXml-source");
        var saved = $("#node-input-fetchXml");
        var hint = $("#node-input-fetchXml-hint");
        var written = (node.fetchXmlType || "str") === "str";
        node.editor = RED.editor.createEditor({
            id: "node-input-fetchXml-editor",
            mode: "ace/mode/xml",
            value: written ? node.fetchXml : node._def.defaults.fetchXml.value,
            // Nothing suggests inline in XML, and Monaco throws "Model is disposed" when the editor is
            // closed after typing with inline suggestions on (Ace ignores this option).
            inlineSuggest: { enabled: false },
        });
        source.val(written ? "" : node.fetchXml);
        source.typedInput({
            default: "str",
            types: [
                { value: "str", label: _("editor.fetchXmlWritten"), icon: "fa fa-code", hasValue: false },
                "msg",
                "flow",
                "global",
                "env",
            ],
            typeField: "#node-input-fetchXmlType",
        });
        var sync = function () {
            var inEditor = source.typedInput("type") === "str";
            saved.val(inEditor ? node.editor.getValue() : source.typedInput("value")).trigger("change");
            var problem = inEditor && validators.query.fetchXml.call(node, saved.val());
            hint.text(typeof problem === "string" ? problem : "");
        };
        var show = function () {
            var fetchXml = queryType.val() === "fetchxml";
            $(".dataverse-query-odata").toggle(!fetchXml);
            $(".dataverse-query-fetchxml").toggle(fetchXml);
            $("#node-input-fetchXml-editor-row").toggle(fetchXml && source.typedInput("type") === "str");
            resizeQueryDialog(node);
            sync();
        };
        queryType.on("change", show);
        source.on("change keyup paste", show);
        node.editor.getSession().on("change", sync);
        show();
    }

    /** The FetchXML editor takes the height the other rows leave, at least 150 px. */
    function resizeQueryDialog(node) {
        var height = $("#dialog-form").height();
        $("#dialog-form > div:visible:not(#node-input-fetchXml-editor-row)").each(function () {
            height -= $(this).outerHeight(true);
        });
        var row = $("#node-input-fetchXml-editor-row");
        height -= parseInt(row.css("marginTop"), 10) + parseInt(row.css("marginBottom"), 10);
        $("#node-input-fetchXml-editor").css("height", Math.max(height, 150) + "px");
        node.editor.resize();
    }

    function closeQueryDialog(node) {
        node.editor.destroy();
        delete node.editor;
    }

    // ---------------------------------------------------------------------------------------------
    // The connection dialog

    /** The connection dialog's current values, as POST /dataverse/test-connection takes them: every setting and credential. */
    function dialogValues(node) {
        var values = { id: node.id, tls: $("#node-config-input-tls").val(), timeout: $("#node-config-input-timeout").val() };
        TEXT_SETTINGS.concat(CREDENTIALS).forEach(function (name) {
            values[name] = $("#node-config-input-" + name).val();
        });
        values.sendX5c = $("#node-config-input-sendX5c").prop("checked") === true;
        return values;
    }

    function testConnection(node) {
        var button = $("#dataverse-connection-test");
        var result = $("#dataverse-connection-test-result");
        var show = function (ok, lines) {
            result.empty().css("color", ok ? "var(--red-ui-text-color-success, #3a7d3a)" : "var(--red-ui-text-color-error, #b52b2b)");
            $('<i class="fa"></i>')
                .addClass(ok ? "fa-check" : "fa-exclamation-triangle")
                .appendTo(result);
            lines.forEach(function (line, i) {
                var el = $("<div></div>").text(line).appendTo(result);
                if (i === 0) {
                    el.css("display", "inline").before(" ");
                } else {
                    el.css({ "font-family": "monospace", "font-size": "0.9em" });
                }
            });
        };
        button.prop("disabled", true);
        result
            .empty()
            .css("color", "")
            .append($('<i class="fa fa-spinner fa-spin"></i>'), " ", $("<span></span>").text(_("editor.testing")));
        $.ajax({
            type: "POST",
            url: "dataverse/test-connection",
            contentType: "application/json",
            data: JSON.stringify(dialogValues(node)),
            dataType: "json",
            timeout: 90000,
        })
            .then(
                function (body) {
                    if (body && body.ok) {
                        show(true, [
                            _("editor.testOk"),
                            _("editor.userId", { id: body.userId }),
                            _("editor.organizationId", { id: body.organizationId }),
                            _("editor.businessUnitId", { id: body.businessUnitId }),
                        ]);
                    } else {
                        var error = (body && body.error) || {};
                        show(false, [
                            error.message || _("editor.unavailable"),
                            [error.status ? "HTTP " + error.status : "", error.code || ""].join(" ").trim(),
                        ]);
                    }
                },
                function (xhr) {
                    var detail = xhr.status === 401 || xhr.status === 403 ? _("editor.testDenied") : _("editor.unavailable");
                    show(false, [detail, xhr.status ? "HTTP " + xhr.status : ""]);
                },
            )
            .always(function () {
                button.prop("disabled", false);
            });
    }

    /** Keeps a value a select has no option for (an environment variable such as ${MY_CLOUD}) as an option of its own. */
    function keepEnvOption(select, value, envLabelKey) {
        if (
            value &&
            select.find("option").filter(function () {
                return this.value === value;
            }).length === 0
        ) {
            var label = isEnv(value) ? _(envLabelKey, { name: value.trim().slice(2, -1) }) : value;
            $("<option></option>").val(value).text(label).appendTo(select);
        }
    }

    /** The Advanced section: closed unless one of its settings differs from its default or is set. */
    function prepareAdvanced(node) {
        var toggle = $("#dataverse-connection-advanced-toggle");
        var section = $("#dataverse-connection-advanced");
        var bulkSelect = $("#node-config-input-bulk");
        keepEnvOption(bulkSelect, node.bulk, "bulk.envNamed");
        bulkSelect.val(node.bulk || "auto");
        var open =
            Object.keys(NUMBERS)
                .concat(["bulk", "apiVersion", "proxy"])
                .some(function (name) {
                    var v = node[name];
                    var def = node._def.defaults[name].value;
                    return v !== undefined && String(v) !== "" && String(v) !== String(def);
                }) ||
            ["proxyUsername", "proxyPassword", "connectionString"].some(function (name) {
                return hasCredential(node, name);
            });
        var show = function (on) {
            section.toggle(on);
            toggle.find("i").toggleClass("fa-caret-right", !on).toggleClass("fa-caret-down", on);
        };
        toggle.on("click", function (evt) {
            evt.preventDefault();
            show(!section.is(":visible"));
        });
        show(open);
    }

    /** The sign-in fields: only those of the chosen authType and cloud are shown, and checked again on a change. */
    function prepareSignInFields(node) {
        var authTypeSelect = $("#node-config-input-authType");
        var cloudSelect = $("#node-config-input-cloud");
        var certForm = $("#dataverse-connection-certForm");
        keepEnvOption(authTypeSelect, node.authType, "authType.envNamed");
        authTypeSelect.val(node.authType || "secret");
        keepEnvOption(cloudSelect, node.cloud, "cloud.envNamed");
        cloudSelect.val(node.cloud || "public");
        $("#node-config-input-sendX5c").prop("checked", node.sendX5c === true || node.sendX5c === "true");
        certForm.val(hasCredential(node, "pfx") && !hasCredential(node, "certificate") ? "pfx" : "pem");
        var show = function () {
            var authType = authTypeSelect.val();
            var cloud = cloudSelect.val();
            AUTH_TYPES.forEach(function (type) {
                $(".dataverse-connection-only-" + type).toggle(type === authType);
            });
            if (authType === "certificate") {
                $(".dataverse-connection-only-pem").toggle(certForm.val() === "pem");
                $(".dataverse-connection-only-pfx").toggle(certForm.val() === "pfx");
            }
            $("#dataverse-connection-row-tenant").toggle(authType !== "managedIdentity" && cloud !== "adfs");
            $("#dataverse-connection-row-authority").toggle(cloud === "custom" || cloud === "adfs" || isEnv(cloud));
            $("#dataverse-connection-tip-authority").toggle(isEnv(cloud));
            $("#dataverse-connection-tip-adfs").toggle(cloud === "adfs");
            $("#node-config-input-authority").attr(
                "placeholder",
                _(cloud === "adfs" ? "placeholder.authorityAdfs" : "placeholder.authority"),
            );
            recheck();
            $("#node-config-input-pfx").trigger("change");
        };
        // re-check the fields whose rules depend on the type, the cloud, a PFX or a connection string
        var recheck = function () {
            ["url", "tenant", "authority", "clientId", "clientSecret", "certificate", "privateKey"].forEach(function (name) {
                $("#node-config-input-" + name).trigger("change");
            });
        };
        authTypeSelect.on("change", show);
        cloudSelect.on("change", show);
        certForm.on("change", show);
        $("#node-config-input-connectionString, #node-config-input-pfx").on("change", recheck);
        show();
        prepareFileButtons();
    }

    /** "Load from file": PEM files are read as text, a PFX as base64; the file never leaves the browser but to be saved. */
    function prepareFileButtons() {
        $(".dataverse-connection-load").on("click", function (evt) {
            evt.preventDefault();
            var button = $(this);
            var target = $("#node-config-input-" + button.data("target"));
            var base64 = button.data("base64") === true;
            var picker = $('<input type="file">').attr("accept", button.data("accept"));
            picker.on("change", function () {
                var file = this.files && this.files[0];
                if (!file) {
                    return;
                }
                var reader = new FileReader();
                reader.onload = function () {
                    target.val(base64 ? toBase64(reader.result) : reader.result).trigger("change");
                    if (base64) {
                        $("#dataverse-connection-pfx-loaded").text(_("editor.pfxLoaded", { name: file.name, bytes: file.size }));
                    }
                };
                if (base64) {
                    reader.readAsArrayBuffer(file);
                } else {
                    reader.readAsText(file);
                }
            });
            picker.trigger("click");
        });
    }

    function toBase64(buffer) {
        var bytes = new Uint8Array(buffer);
        var binary = "";
        for (var i = 0; i < bytes.length; i += 0x8000) {
            binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return btoa(binary);
    }

    /**
     * "Paste a connection string": the shared parser (resources/dataverse-connection-string.js, built from
     * src/client/connection-string.ts) fills the fields; the pasted text itself is not kept.
     */
    function preparePaste() {
        var box = $("#dataverse-connection-paste");
        var text = $("#dataverse-connection-paste-text");
        var result = $("#dataverse-connection-paste-result");
        $("#dataverse-connection-paste-toggle").on("click", function (evt) {
            evt.preventDefault();
            box.toggle();
            if (box.is(":visible")) {
                text.trigger("focus");
            }
        });
        $("#dataverse-connection-paste-fill").on("click", function (evt) {
            evt.preventDefault();
            var message = fillFromConnectionString(text.val());
            result.text(message.text).css("color", message.ok ? "" : "var(--red-ui-text-color-error, #b52b2b)");
            if (message.filled) {
                text.val("");
            }
        });
    }

    /** Fills the dialog from a connection string; says what it did (filled), or why it could not. */
    function fillFromConnectionString(text) {
        var values;
        try {
            values = window.DataverseConnectionString.parseConnectionString(text || "");
        } catch (err) {
            return { ok: false, text: _("editor.pasteFailed", { reason: err.message }) };
        }
        var filled = [];
        var set = function (name, value) {
            if (value !== undefined) {
                $("#node-config-input-" + name)
                    .val(value)
                    .trigger("change");
                filled.push(_("label." + name));
            }
        };
        set("authType", values.authType);
        set("url", values.url);
        set("cloud", values.cloud);
        set("authority", values.authority);
        set("tenant", values.tenant);
        set("clientId", values.clientId);
        set("clientSecret", values.clientSecret);
        if (values.thumbprint) {
            $("#dataverse-connection-certForm").val("pem").trigger("change");
            var pem = $("#node-config-input-certificate, #node-config-input-privateKey").addClass("input-error");
            pem.first().trigger("focus");
            return { ok: false, filled: true, text: _("editor.pasteThumbprint", { thumbprint: values.thumbprint }) };
        }
        return { ok: true, filled: true, text: _("editor.pasteFilled", { fields: filled.join(", ") }) };
    }

    /** On save: a certificate is either PEM or PFX, so the other form's stored credentials are cleared. */
    function saveConnectionDialog() {
        if ($("#node-config-input-authType").val() !== "certificate") {
            return;
        }
        var unused = $("#dataverse-connection-certForm").val() === "pfx" ? ["certificate", "privateKey"] : ["pfx"];
        unused.forEach(function (name) {
            $("#node-config-input-" + name).val("");
        });
    }

    function prepareConnectionDialog(node) {
        prepareSignInFields(node);
        preparePaste();
        prepareAdvanced(node);
        $("#dataverse-connection-test").on("click", function (evt) {
            evt.preventDefault();
            testConnection(node);
        });
    }

    function hostOf(url) {
        var m = /^https?:\/\/(\[[^\]]+\]|[^/?#:@\s]+)/i.exec(url || "");
        return m ? m[1] : "";
    }

    // ---------------------------------------------------------------------------------------------
    // Labels

    /** "create accounts": what an action node does, for its label; `table` when the table is not node.table. */
    function actionLabel(node, verbKey, table) {
        if (node.name) {
            return node.name;
        }
        if (table === undefined) {
            table = (node.tableType || "str") === "str" ? node.table : "";
        }
        return table ? node._(verbKey + "WithTable", { table: table }) : node._(verbKey);
    }

    /** The table of a FetchXML query written in the node: the name of its <entity>, or "". */
    function fetchXmlEntity(node) {
        var entity = (node.fetchXmlType || "str") === "str" && /<entity\b[^>]*?\bname\s*=\s*["']([^"']*)["']/.exec(node.fetchXml || "");
        return entity ? entity[1] : "";
    }

    // ---------------------------------------------------------------------------------------------
    // Request options: one collapsible section, the same in every dialog of a node that sends a
    // message's requests. Its labels are in the connection's catalogue, under requestOptions.

    var REQUEST_OPTIONS = [
        { name: "callerObjectId", icon: "fa-user", fallback: "str", types: ["str", "msg", "flow", "global", "env"] },
        { name: "bypassPlugins", icon: "fa-plug", fallback: "bool", types: ["bool", "msg", "flow", "global", "env"] },
        { name: "bypassBusinessLogic", icon: "fa-random", fallback: "str", types: ["str", "msg", "flow", "global", "env"] },
        { name: "suppressDuplicateDetection", icon: "fa-clone", fallback: "bool", types: ["bool", "msg", "flow", "global", "env"] },
        { name: "tag", icon: "fa-tag", fallback: "str", types: ["str", "msg", "flow", "global", "env"] },
    ];
    var BYPASS_LOGIC = /^\s*(CustomSync|CustomAsync)\s*(,\s*(CustomSync|CustomAsync)\s*)?$/i;

    function requestOptionText(key) {
        return RED._("node-red-contrib-dataverse/dataverse-connection:dataverse-connection.requestOptions." + key);
    }

    /** A node type's defaults with the request options added: each off or empty, as older flows read. */
    function withRequestOptions(nodeDefaults) {
        var defaults = {};
        Object.keys(nodeDefaults).forEach(function (name) {
            defaults[name] = nodeDefaults[name];
        });
        REQUEST_OPTIONS.forEach(function (option) {
            var check = REQUEST_OPTION_CHECKS[option.name];
            defaults[option.name] = { value: option.fallback === "bool" ? "false" : "" };
            if (check) {
                // Two parameters: Node-RED then shows the returned text as the reason (opt is not needed here).
                defaults[option.name].validate = function (v, opt) {
                    void opt;
                    var type = typeOf(this, option.name + "Type", option.fallback);
                    var value = trimmed(v);
                    return type !== "str" || value === "" || isEnv(value) || check(value)
                        ? true
                        : requestOptionText("errors." + option.name);
                };
            }
            defaults[option.name + "Type"] = { value: option.fallback };
        });
        return defaults;
    }

    var REQUEST_OPTION_CHECKS = {
        callerObjectId: isGuid,
        bypassBusinessLogic: function (v) {
            return BYPASS_LOGIC.test(v);
        },
    };

    /** Adds the section above the Name row and sets up its inputs; open when an option is set. */
    function prepareRequestOptions(node) {
        var toggle = $(
            '<a href="#" class="red-ui-button red-ui-button-small dataverse-request-options-toggle"><i class="fa fa-caret-right"></i> </a>',
        );
        toggle.append($("<span></span>").text(requestOptionText("section")));
        var section = $('<div class="dataverse-request-options"></div>');
        REQUEST_OPTIONS.forEach(function (option) {
            var id = "node-input-" + option.name;
            var row = $('<div class="form-row"></div>').appendTo(section);
            $('<label style="width:150px"></label>')
                .attr("for", id)
                .append($('<i class="fa"></i>').addClass(option.icon))
                .append(" ")
                .append($("<span></span>").text(requestOptionText("label." + option.name)))
                .appendTo(row);
            $('<input type="text" style="width:calc(70% - 50px)">')
                .attr("id", id)
                .attr("placeholder", requestOptionText("placeholder." + option.name))
                .val(node[option.name] === undefined ? "" : node[option.name])
                .appendTo(row);
            $('<input type="hidden">')
                .attr("id", id + "Type")
                .val(node[option.name + "Type"] || option.fallback)
                .appendTo(row);
        });
        $('<div class="form-tips"></div>').text(requestOptionText("tip")).appendTo(section);
        var anchor = $("#node-input-name").closest(".form-row");
        $('<div class="form-row"></div>').append(toggle).insertBefore(anchor);
        section.insertBefore(anchor);
        // Node-RED attached its validation to the fields before this section existed: a change here runs it
        // through a field that was there (it checks every field, these included).
        var validate = function () {
            $("#node-input-name").trigger("change");
        };
        REQUEST_OPTIONS.forEach(function (option) {
            $("#node-input-" + option.name).on("change keyup paste", validate);
            $("#node-input-" + option.name).typedInput({
                default: option.fallback,
                types: option.types,
                typeField: "#node-input-" + option.name + "Type",
            });
        });
        var set = REQUEST_OPTIONS.some(function (option) {
            var value = node[option.name];
            var optionType = node[option.name + "Type"] || option.fallback;
            return value !== undefined && value !== "" && !(optionType === "bool" && value !== true && value !== "true");
        });
        var show = function (on) {
            section.toggle(on);
            toggle.find("i").toggleClass("fa-caret-right", !on).toggleClass("fa-caret-down", on);
        };
        toggle.on("click", function (evt) {
            evt.preventDefault();
            show(!section.is(":visible"));
        });
        show(set);
    }

    window.DataverseEditor = {
        withRequestOptions: withRequestOptions,
        prepareRequestOptions: prepareRequestOptions,
        isEnv: isEnv,
        validators: validators,
        prepareActionDialog: prepareActionDialog,
        prepareQueryDialog: prepareQueryDialog,
        prepareChangesDialog: prepareChangesDialog,
        resizeQueryDialog: resizeQueryDialog,
        closeQueryDialog: closeQueryDialog,
        prepareConnectionDialog: prepareConnectionDialog,
        saveConnectionDialog: saveConnectionDialog,
        actionLabel: actionLabel,
        fetchXmlEntity: fetchXmlEntity,
        hostOf: hostOf,
        loadList: loadList,
    };
})();
