// Lint rules checked by `npm test` (test/package/lint.test.ts): typescript-eslint's recommended set
// for the TypeScript, ESLint's for the editor script the browser loads.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "test/node-red-5/node_modules/", ".run/", "nodes/**/*.js", "nodes/icons/", "resources/dataverse-connection-string.js"] },
  {
    files: ["**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
      // Node-RED node constructors keep `this` as `node` for their callbacks.
      "@typescript-eslint/no-this-alias": "off",
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["resources/*.js"],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, RED: "readonly", $: "readonly", jQuery: "readonly" } },
  },
  {
    files: ["scripts/*.mjs", "eslint.config.mjs"],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
