// The condition-tree editor (申请条件编辑器): edits the JSON in #condition-json through a tree of
// groups (全部满足 / 满足其一 / 不满足) and atoms (数据项 — 比较方式 — 值 — 条款), offering only the
// operators and values valid for each fact's type in the fact catalogue. The server checks the
// tree again on save; this only keeps people from typing JSON.
"use strict";
(() => {
  const mount = document.getElementById("condition-editor");
  const source = document.getElementById("condition-json");
  const catalogueNode = document.getElementById("editor-catalogue");
  if (!mount || !source || !catalogueNode) return;
  const catalogue = JSON.parse(catalogueNode.textContent);
  const facts = Object.fromEntries(catalogue.facts.map((f) => [f.key, f]));
  const OP_NAMES = {
    "is": "是", "==": "等于", "!=": "不等于", "<": "小于", "<=": "不超过", ">": "大于", ">=": "不少于", "between": "介于",
    "before": "早于", "on_or_before": "不晚于", "after": "晚于", "on_or_after": "不早于", "within_years": "在近几年内",
    "in": "属于", "not_in": "不属于", "under": "属于（地区/行业及其下级）", "not_under": "不属于（地区/行业及其下级）",
    "has": "具有", "lacks": "不具有", "has_any": "具有其一", "has_all": "全部具有",
  };
  const LISTS = new Set(["in", "not_in", "under", "not_under", "has_any", "has_all"]);

  let tree;
  try {
    tree = source.value.trim() ? JSON.parse(source.value) : { all: [] };
  } catch (error) {
    mount.textContent = "条件的 JSON 无法解析，请在下方“高级”中修改。";
    return;
  }

  const el = (tag, attributes = {}, children = []) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const select = (options, current, label) => {
    const box = el("select", { "aria-label": label });
    for (const [value, text] of options) {
      const option = el("option", { value, text });
      if (String(value) === String(current)) option.selected = true;
      box.append(option);
    }
    return box;
  };
  const save = () => { source.value = JSON.stringify(tree, null, 1); };
  const groupKind = (node) => ["all", "any", "not"].find((k) => k in node);

  function valueInput(atom, fact, onChange) {
    const op = atom.op;
    const holder = el("span", { class: "value" });
    const params = catalogue.parameters.filter((p) => p.type === (op === "within_years" ? "number" : fact.type));
    const uniqueParams = [...new Set(params.map((p) => p.key))];
    if (uniqueParams.length && !LISTS.has(op) && op !== "between") {
      const mode = select([["value", "填写值"], ["param", "年度参数"]], "param" in atom ? "param" : "value", "值的来源");
      mode.addEventListener("change", () => {
        if (mode.value === "param") { delete atom.value; atom.param = uniqueParams[0]; }
        else { delete atom.param; atom.value = defaultValue(fact, op); }
        onChange();
      });
      holder.append(mode);
      if ("param" in atom) {
        const chooser = select(uniqueParams.map((k) => [k, k]), atom.param, "年度参数");
        chooser.addEventListener("change", () => { atom.param = chooser.value; save(); });
        holder.append(chooser);
        return holder;
      }
    }
    const set = (value) => { atom.value = value; save(); };
    if (fact.type === "bool") {
      const box = select([["true", "是"], ["false", "否"]], String(atom.value), "值");
      box.addEventListener("change", () => set(box.value === "true"));
      holder.append(box);
    } else if (op === "between") {
      const kind = fact.type === "date" ? "date" : "number";
      const [low, high] = Array.isArray(atom.value) ? atom.value : ["", ""];
      const a = el("input", { type: kind, value: low, "aria-label": "下限", step: "any" });
      const b = el("input", { type: kind, value: high, "aria-label": "上限", step: "any" });
      const update = () => set([kind === "number" ? Number(a.value) : a.value, kind === "number" ? Number(b.value) : b.value]);
      a.addEventListener("change", update);
      b.addEventListener("change", update);
      holder.append(a, el("span", { text: " 至 " }), b);
    } else if (fact.type === "number" || op === "within_years") {
      const box = el("input", { type: "number", step: "any", value: atom.value ?? "", "aria-label": "值" });
      box.addEventListener("change", () => set(Number(box.value)));
      holder.append(box, el("span", { class: "hint", text: op === "within_years" ? " 年" : ` ${fact.unit || ""}` }));
    } else if (fact.type === "date") {
      const box = el("input", { type: "date", value: atom.value ?? "", "aria-label": "日期" });
      box.addEventListener("change", () => set(box.value));
      holder.append(box);
    } else if (fact.type === "code") {
      const box = el("input", { value: (atom.value || []).join(", "), "aria-label": "代码",
        placeholder: fact.tree === "division" ? "行政区划代码，如 510100, 510107" : "行业代码，如 C, I65" });
      box.addEventListener("change", () => set(box.value.split(/[,，\s]+/).filter(Boolean)));
      holder.append(box);
    } else if (LISTS.has(op)) {
      const chosen = new Set(atom.value || []);
      for (const value of fact.values) {
        const box = el("input", { type: "checkbox", value });
        box.checked = chosen.has(value);
        box.addEventListener("change", () => {
          box.checked ? chosen.add(value) : chosen.delete(value);
          set(fact.values.filter((v) => chosen.has(v)));
        });
        holder.append(el("label", { class: "check" }, [box, value]));
      }
    } else {
      const box = select(fact.values.map((v) => [v, v]), atom.value, "值");
      box.addEventListener("change", () => set(box.value));
      holder.append(box);
    }
    return holder;
  }

  function defaultValue(fact, op) {
    if (fact.type === "bool") return true;
    if (op === "between") return fact.type === "date" ? ["2025-01-01", "2025-12-31"] : [0, 1];
    if (fact.type === "number" || op === "within_years") return 1;
    if (fact.type === "date") return new Date().toISOString().slice(0, 10);
    if (LISTS.has(op)) return fact.type === "code" ? [fact.tree === "division" ? "510100" : "C"] : [fact.values[0]];
    return fact.values[0];
  }

  function newAtom() {
    const fact = catalogue.facts[0];
    const op = catalogue.operators[fact.type][0];
    return { fact: fact.key, op, value: defaultValue(fact, op) };
  }

  function atomRow(atom, onChange, remove) {
    const fact = facts[atom.fact] || catalogue.facts[0];
    const factBox = select(catalogue.facts.map((f) => [f.key, `${f.label}${f.authoritative ? "" : "（自报）"}`]), atom.fact, "数据项");
    factBox.addEventListener("change", () => {
      const next = facts[factBox.value];
      atom.fact = next.key;
      atom.op = catalogue.operators[next.type][0];
      delete atom.param;
      atom.value = defaultValue(next, atom.op);
      onChange();
    });
    const opBox = select(catalogue.operators[fact.type].map((o) => [o, OP_NAMES[o] || o]), atom.op, "比较方式");
    opBox.addEventListener("change", () => {
      atom.op = opBox.value;
      delete atom.param;
      atom.value = defaultValue(fact, atom.op);
      onChange();
    });
    const clause = el("input", { value: atom.clause || "", placeholder: "出处条款，如 第三条", maxlength: "64", "aria-label": "出处条款", class: "clause" });
    clause.addEventListener("change", () => {
      if (clause.value.trim()) atom.clause = clause.value.trim(); else delete atom.clause;
      save();
    });
    const drop = el("button", { type: "button", class: "link", text: "删除" });
    drop.addEventListener("click", remove);
    return el("div", { class: "atom row" }, [factBox, opBox, valueInput(atom, fact, onChange), clause, drop]);
  }

  function groupBlock(node, onChange, remove) {
    if ("ref" in node) {
      const box = select(catalogue.conditions.map((c) => [c, c]), node.ref, "共用条件");
      box.addEventListener("change", () => { node.ref = box.value; save(); });
      const drop = el("button", { type: "button", class: "link", text: "删除" });
      drop.addEventListener("click", remove);
      return el("div", { class: "atom row" }, [el("span", { text: "引用共用条件" }), box, drop]);
    }
    if ("fact" in node) return atomRow(node, onChange, remove);
    const kind = groupKind(node);
    const children = kind === "not" ? [node.not] : node[kind];
    const kindBox = select([["all", "全部满足"], ["any", "满足其一"], ["not", "不满足"]], kind, "分组方式");
    kindBox.addEventListener("change", () => {
      const items = kind === "not" ? [node.not] : node[kind];
      delete node[kind];
      if (kindBox.value === "not") node.not = items[0] || newAtom();
      else node[kindBox.value] = items.length ? items : [newAtom()];
      onChange();
    });
    const list = el("div", { class: "children" });
    children.forEach((child, index) => {
      list.append(groupBlock(child, onChange, () => {
        if (kind === "not") node.not = newAtom(); else node[kind].splice(index, 1);
        onChange();
      }));
    });
    const head = el("div", { class: "row" }, [kindBox]);
    if (kind !== "not") {
      const addAtom = el("button", { type: "button", text: "＋ 条件" });
      addAtom.addEventListener("click", () => { node[kind].push(newAtom()); onChange(); });
      const addGroup = el("button", { type: "button", text: "＋ 分组" });
      addGroup.addEventListener("click", () => { node[kind].push({ any: [newAtom()] }); onChange(); });
      head.append(addAtom, addGroup);
      if (catalogue.conditions.length) {
        const addRef = el("button", { type: "button", text: "＋ 引用共用条件" });
        addRef.addEventListener("click", () => { node[kind].push({ ref: catalogue.conditions[0] }); onChange(); });
        head.append(addRef);
      }
    }
    if (remove) {
      const drop = el("button", { type: "button", class: "link", text: "删除分组" });
      drop.addEventListener("click", remove);
      head.append(drop);
    }
    return el("div", { class: "group-block" }, [head, list]);
  }

  function draw() {
    save();
    mount.replaceChildren(groupBlock(tree, draw, null));
  }
  if (!groupKind(tree) && !("fact" in tree)) tree = { all: [tree] };
  if ("fact" in tree || "ref" in tree) tree = { all: [tree] };
  if (tree.all && tree.all.length === 0 && !source.value.trim()) tree.all.push(newAtom());
  draw();
  // someone who edits the JSON by hand sees the tree follow
  source.addEventListener("change", () => {
    try { tree = JSON.parse(source.value); draw(); } catch (error) { /* the server will say what is wrong */ }
  });
})();
