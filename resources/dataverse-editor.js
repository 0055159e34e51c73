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
    var CLOUDS = ["public", "gcc", "gcchigh", "dod", "china", "custom"];
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

    var validators = {
        // the connection
        url: function (v) {
            v = trimmed(v);
            if (isEnv(v)) {
                return true;
            }
            if (!HTTPS_URL.test(v) && !LOOPBACK_URL.test(v)) {
                return _("errors.url");
            }
            return /\/api\/data/i.test(v) ? _("errors.urlApiPath") : true;
        },
        tenant: function (v) {
            v = trimmed(v);
            if (isEnv(v)) {
                return true;
            }
            if (/^(common|organizations|consumers)$/i.test(v)) {
                return _("errors.tenantShared");
            }
            return GUID.test(v) || DOMAIN.test(v) ? true : _("errors.tenant");
        },
        cloud: function (v) {
            return isEnv(v) || CLOUDS.indexOf(v) !== -1 ? true : _("errors.cloud");
        },
        authority: function (v) {
            v = trimmed(v);
            var cloud = fieldValue(this, "#node-config-input-cloud", "cloud", "public");
            if (cloud !== "custom" && !isEnv(cloud)) {
                return true;
            } // only the custom cloud uses it
            if (v === "") {
                return cloud === "custom" ? _("errors.authorityRequired") : true;
            }
            return isEnv(v) || HTTPS_URL.test(v) || AUTHORITY_HOST.test(v) ? true : _("errors.authority");
        },
        authType: function (v) {
            return v === "secret" || isEnv(v) ? true : _("errors.authType");
        },
        clientId: function (v) {
            v = trimmed(v);
            return isEnv(v) || GUID.test(v) ? true : _("errors.clientId");
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
                url: "dataverse/connections/" + id + "/tables" + (what === "columns" ? "/" + encodeURIComponent(table) + "/columns" : ""),
            };
        }
        var credentials = conn.credentials || {};
        var data = {
            connection: {
                id: conn.id,
                url: conn.url,
                tenant: conn.tenant,
                cloud: conn.cloud,
                authority: conn.authority,
                authType: conn.authType,
                tls: conn.tls,
                timeout: conn.timeout,
                clientId: credentials.clientId,
                clientSecret: credentials.clientSecret,
            },
        };
        if (what === "columns") {
            data.table = table;
        }
        return { type: "POST", url: "dataverse/" + what, contentType: "application/json", data: JSON.stringify(data) };
    }

    /** A promise of the list (tables, or a table's columns), loaded once per connection for a while. */
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
        row: { fallback: "msg", types: ["msg", "flow", "global", "json", "jsonata", "env"] },
        select: { fallback: "str", types: ["str", "json", "msg", "flow", "global", "env", "jsonata"] },
        expand: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        filter: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        orderby: { fallback: "str", types: ["str", "msg", "flow", "global", "env", "jsonata"] },
        maxRows: { fallback: "num", types: ["num", "msg", "flow", "global", "env", "jsonata"] },
        pageSize: { fallback: "num", types: ["num", "msg", "flow", "global", "env"] },
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
            if (field === "table") {
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

    /** The connection dialog's current values, as POST /dataverse/test-connection takes them. */
    function dialogValues(node) {
        var value = function (name) {
            return $("#node-config-input-" + name).val();
        };
        return {
            id: node.id,
            url: value("url"),
            tenant: value("tenant"),
            cloud: value("cloud"),
            authority: value("authority"),
            authType: value("authType"),
            tls: value("tls"),
            timeout: value("timeout"),
            clientId: value("clientId"),
            clientSecret: value("clientSecret"),
        };
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

    /** The Advanced section: closed unless a reliability setting differs from its default or is invalid. */
    function prepareAdvanced(node) {
        var toggle = $("#dataverse-connection-advanced-toggle");
        var section = $("#dataverse-connection-advanced");
        var bulkSelect = $("#node-config-input-bulk");
        keepEnvOption(bulkSelect, node.bulk, "bulk.envNamed");
        bulkSelect.val(node.bulk || "auto");
        var open = Object.keys(NUMBERS)
            .concat(["bulk"])
            .some(function (name) {
                var v = node[name];
                var def = node._def.defaults[name].value;
                return v !== undefined && String(v) !== "" && String(v) !== String(def);
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

    function prepareConnectionDialog(node) {
        var cloudSelect = $("#node-config-input-cloud");
        keepEnvOption(cloudSelect, node.cloud, "cloud.envNamed");
        cloudSelect.val(node.cloud || "public");
        var updateAuthorityRow = function () {
            var cloud = cloudSelect.val();
            var used = cloud === "custom" || isEnv(cloud);
            $("#dataverse-connection-row-authority").toggle(used);
            $("#dataverse-connection-tip-authority").toggle(isEnv(cloud));
            // re-check the authority, whose rules depend on the cloud
            $("#node-config-input-authority").trigger("change");
        };
        cloudSelect.on("change", updateAuthorityRow);
        updateAuthorityRow();
        if (!node.authType) {
            $("#node-config-input-authType").val("secret");
        }
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

    window.DataverseEditor = {
        isEnv: isEnv,
        validators: validators,
        prepareActionDialog: prepareActionDialog,
        prepareQueryDialog: prepareQueryDialog,
        prepareChangesDialog: prepareChangesDialog,
        resizeQueryDialog: resizeQueryDialog,
        closeQueryDialog: closeQueryDialog,
        prepareConnectionDialog: prepareConnectionDialog,
        actionLabel: actionLabel,
        fetchXmlEntity: fetchXmlEntity,
        hostOf: hostOf,
        loadList: loadList,
    };
})();
